//! Node.js functions through Tollgate's shipped bootstrap, and `provided` runtimes: custom
//! `bootstrap` executables speaking the Runtime API themselves (shell + curl, Python + urllib).

mod common;

use std::time::Duration;

use common::*;
use tollgate_functions::{Invocation, InvokeError};

const NODE_HANDLERS: &str = r#"
let count = 0;
exports.handler = async (event, context) => {
  count += 1;
  console.log('node invocation', count);
  return {
    count,
    pid: process.pid,
    event,
    requestId: context.awsRequestId,
    arn: context.invokedFunctionArn,
    remaining: context.getRemainingTimeInMillis(),
    fn: context.functionName,
    greeting: process.env.GREETING,
    execEnv: process.env.AWS_EXECUTION_ENV,
  };
};
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { via: 'callback', n: event.n }), 10);
};
exports.fails = async () => {
  throw new TypeError('kaboom');
};
exports.callbackFails = (event, context, callback) => callback(new Error('cb failed'));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_handlers() {
    if !have("node") {
        eprintln!("skipped: node is not installed");
        return;
    }
    let env = Env::new();
    let code = env.code(
        "node",
        &[
            ("index.js", NODE_HANDLERS),
            (
                "esm.mjs",
                "export const handler = async (event) => ({ esm: true, got: event.x });\n",
            ),
        ],
    );
    let functions = functions(env.settings());
    let mut cfg = config("node", "nodejs20.x", "index.handler", &code);
    cfg.environment.insert("GREETING".into(), "hi".into());
    functions.upsert(cfg);
    functions.upsert(config("nodecb", "nodejs20.x", "index.callback", &code));
    functions.upsert(config("nodefail", "nodejs20.x", "index.fails", &code));
    functions.upsert(config(
        "nodecbfail",
        "nodejs20.x",
        "index.callbackFails",
        &code,
    ));
    functions.upsert(config("nodeesm", "nodejs20.x", "esm.handler", &code));
    functions.upsert(config("nodemissing", "nodejs20.x", "nope.handler", &code));

    let first = functions
        .invoke(
            "node",
            "$LATEST",
            Invocation {
                tail_log: true,
                ..Invocation::new(r#"{"a": [1, 2]}"#)
            },
        )
        .await
        .expect("invoke");
    assert_eq!(first.function_error, None, "{:?}", first.payload);
    let a = json(&first);
    assert_eq!(a["count"], 1);
    assert_eq!(a["event"]["a"][1], 2);
    assert_eq!(a["requestId"], first.request_id.as_str());
    assert_eq!(
        a["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:node"
    );
    assert_eq!(a["fn"], "node");
    assert_eq!(a["greeting"], "hi");
    assert_eq!(a["execEnv"], "AWS_Lambda_nodejs20.x");
    assert!(a["remaining"].as_u64().is_some_and(|r| r > 2000));
    let tail = first.log_tail.clone().expect("tail");
    let line = tail
        .lines()
        .find(|l| l.ends_with("node invocation 1"))
        .unwrap_or_else(|| panic!("console.log line missing: {tail}"));
    assert!(
        line.contains(&format!("\t{}\tINFO\t", first.request_id)),
        "{line}"
    );

    let second = json(
        &functions
            .invoke("node", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(second["count"], 2);
    assert_eq!(second["pid"], a["pid"]);

    let cb = json(
        &functions
            .invoke("nodecb", "$LATEST", Invocation::new(r#"{"n": 7}"#))
            .await
            .expect("invoke"),
    );
    assert_eq!(cb, serde_json::json!({"via": "callback", "n": 7}));

    let failed = functions
        .invoke("nodefail", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(failed.function_error.as_deref(), Some("Unhandled"));
    let doc = json(&failed);
    assert_eq!(doc["errorType"], "TypeError");
    assert_eq!(doc["errorMessage"], "kaboom");
    assert!(doc["trace"].as_array().is_some_and(|t| !t.is_empty()));

    let doc = json(
        &functions
            .invoke("nodecbfail", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(doc["errorMessage"], "cb failed");

    let esm = json(
        &functions
            .invoke("nodeesm", "$LATEST", Invocation::new(r#"{"x": "y"}"#))
            .await
            .expect("invoke"),
    );
    assert_eq!(esm, serde_json::json!({"esm": true, "got": "y"}));

    let missing = functions
        .invoke("nodemissing", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(missing.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(json(&missing)["errorType"], "Runtime.ImportModuleError");
    functions.shutdown().await;
}

/// The bootstrap pipelines each answer with its next poll, and the server holds the answer's
/// reply until the next event is queued: answers, errors and an oversized response, under
/// concurrent invocations that queue for the same instance, must each reach their own caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_pipelined_answers() {
    if !have("node") {
        eprintln!("skipped: node is not installed");
        return;
    }
    let env = Env::new();
    let code = env.code(
        "pipelined",
        &[(
            "index.js",
            r#"
exports.handler = async (event, context) => {
  if (event.big) return 'x'.repeat(7 * 1024 * 1024);
  if (event.n % 3 === 1) throw new RangeError('odd ' + event.n);
  return { n: event.n, id: context.awsRequestId };
};
"#,
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("pipelined", "nodejs20.x", "index.handler", &code));

    let mut calls = tokio::task::JoinSet::new();
    for n in 0..24 {
        let functions = functions.clone();
        calls.spawn(async move {
            let payload = format!(r#"{{"n": {n}}}"#);
            let outcome = functions
                .invoke("pipelined", "$LATEST", Invocation::new(payload))
                .await
                .expect("invoke");
            (n, outcome)
        });
    }
    for (n, outcome) in calls.join_all().await {
        let doc = json(&outcome);
        if n % 3 == 1 {
            assert_eq!(
                outcome.function_error.as_deref(),
                Some("Unhandled"),
                "{doc}"
            );
            assert_eq!(doc["errorType"], "RangeError");
            assert_eq!(doc["errorMessage"], format!("odd {n}"));
        } else {
            assert_eq!(outcome.function_error, None, "{doc}");
            assert_eq!(doc["n"], n);
            assert_eq!(doc["id"], outcome.request_id.as_str());
        }
    }

    let big = functions
        .invoke("pipelined", "$LATEST", Invocation::new(r#"{"big": true}"#))
        .await
        .expect("invoke");
    assert_eq!(big.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(json(&big)["errorType"], "Function.ResponseSizeTooLarge");
    // The function keeps answering after the refused response.
    for n in [3, 6] {
        let after = functions
            .invoke(
                "pipelined",
                "$LATEST",
                Invocation::new(format!(r#"{{"n": {n}}}"#)),
            )
            .await
            .expect("invoke");
        assert_eq!(after.function_error, None, "{:?}", after.payload);
        assert_eq!(json(&after)["n"], n);
    }
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_id_is_always_passed() {
    let env = Env::new();
    let code = env.code(
        "trace",
        &[(
            "app.py",
            "import os\ndef handler(event, context):\n    return os.environ.get('_X_AMZN_TRACE_ID')\n",
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("trace", "python3.12", "app.handler", &code));
    let generated = json(
        &functions
            .invoke("trace", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    let generated = generated.as_str().expect("trace id");
    assert!(
        generated.starts_with("Root=1-") && generated.ends_with(";Sampled=0"),
        "{generated}"
    );
    let given = json(
        &functions
            .invoke(
                "trace",
                "$LATEST",
                Invocation {
                    trace_id: Some("Root=1-5f84c7a1-abcdef;Sampled=1".into()),
                    ..Invocation::new("{}")
                },
            )
            .await
            .expect("invoke"),
    );
    assert_eq!(given, "Root=1-5f84c7a1-abcdef;Sampled=1");
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_timeout() {
    if !have("node") {
        eprintln!("skipped: node is not installed");
        return;
    }
    let env = Env::new();
    let code = env.code(
        "nodeslow",
        &[(
            "index.js",
            "exports.handler = async (e) => { if (e.warm) return 1; await new Promise(r => setTimeout(r, 5000)); return process.pid; };\n",
        )],
    );
    let functions = functions(env.settings());
    let mut cfg = config("nodeslow", "nodejs20.x", "index.handler", &code);
    cfg.timeout = Duration::from_secs(1);
    functions.upsert(cfg);
    functions
        .invoke("nodeslow", "$LATEST", Invocation::new(r#"{"warm": true}"#))
        .await
        .expect("warm up");
    let started = std::time::Instant::now();
    let outcome = functions
        .invoke("nodeslow", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert!(started.elapsed() < Duration::from_millis(1800));
    assert!(
        json(&outcome)["errorMessage"]
            .as_str()
            .is_some_and(|m| m.ends_with("Task timed out after 1.00 seconds"))
    );
    assert_eq!(functions.live_instances(), 0);
    functions.shutdown().await;
}

/// A `provided` runtime in shell: echoes the event, counts invocations, shows some env.
const SHELL_BOOTSTRAP: &str = r#"#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
COUNT=0
HEADERS="$(mktemp)"
trap 'rm -f "$HEADERS"' EXIT
while true; do
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  REQUEST_ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d: -f2 | tr -d '[:space:]')"
  COUNT=$((COUNT + 1))
  echo "shell got $EVENT"
  case "$EVENT" in
    *fail*)
      curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.Failure' \
        -d '{"errorMessage":"asked to fail","errorType":"Custom.Failure","stackTrace":[]}' \
        "$API/invocation/$REQUEST_ID/error"
      ;;
    *)
      curl -sS -o /dev/null -X POST \
        -d "{\"echo\":$EVENT,\"count\":$COUNT,\"pid\":$$,\"handler\":\"${_HANDLER}\",\"root\":\"${LAMBDA_TASK_ROOT}\",\"exec\":\"${AWS_EXECUTION_ENV:-none}\"}" \
        "$API/invocation/$REQUEST_ID/response"
      ;;
  esac
done
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provided_shell_bootstrap() {
    if !have("curl") {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let env = Env::new();
    let code = env.code("shell", &[("bootstrap", SHELL_BOOTSTRAP)]);
    let functions = functions(env.settings());
    functions.upsert(config("shell", "provided.al2023", "ignored.handler", &code));
    let first = functions
        .invoke(
            "shell",
            "$LATEST",
            Invocation {
                tail_log: true,
                ..Invocation::new(r#"{"hello":"world"}"#)
            },
        )
        .await
        .expect("invoke");
    assert_eq!(first.function_error, None, "{:?}", first.payload);
    let a = json(&first);
    assert_eq!(a["echo"]["hello"], "world");
    assert_eq!(a["count"], 1);
    assert_eq!(a["handler"], "ignored.handler");
    assert_eq!(a["root"], code.display().to_string());
    assert_eq!(
        a["exec"], "none",
        "no AWS_EXECUTION_ENV for provided runtimes"
    );
    assert!(
        first
            .log_tail
            .as_deref()
            .is_some_and(|t| t.contains(r#"shell got {"hello":"world"}"#))
    );
    let second = json(
        &functions
            .invoke("shell", "$LATEST", Invocation::new("[1]"))
            .await
            .expect("invoke"),
    );
    assert_eq!(second["count"], 2);
    assert_eq!(second["pid"], a["pid"]);

    let failed = functions
        .invoke("shell", "$LATEST", Invocation::new(r#""fail""#))
        .await
        .expect("invoke");
    assert_eq!(failed.function_error.as_deref(), Some("Unhandled"));
    let doc = json(&failed);
    assert_eq!(doc["errorType"], "Custom.Failure");
    assert_eq!(doc["errorMessage"], "asked to fail");
    functions.shutdown().await;
}

/// A `provided` runtime in Python with urllib, reporting an init error when asked to.
const PYTHON_PROVIDED: &str = r#"#!/usr/bin/env python3
import json, os, sys, urllib.request
api = "http://%s/2018-06-01/runtime" % os.environ["AWS_LAMBDA_RUNTIME_API"]
def post(path, doc, headers=None):
    req = urllib.request.Request(api + path, data=json.dumps(doc).encode(), method="POST", headers=headers or {})
    urllib.request.urlopen(req).read()
if os.environ.get("FAIL_INIT"):
    post("/init/error", {"errorMessage": "config missing", "errorType": "Custom.InitFailure"},
         {"Lambda-Runtime-Function-Error-Type": "Custom.InitFailure"})
    sys.exit(1)
if os.environ.get("EXIT_INIT"):
    sys.exit(3)
while True:
    with urllib.request.urlopen(api + "/invocation/next") as resp:
        rid = resp.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(resp.headers["Lambda-Runtime-Deadline-Ms"])
        trace = resp.headers.get("Lambda-Runtime-Trace-Id")
        cc = resp.headers.get("Lambda-Runtime-Client-Context")
        ci = resp.headers.get("Lambda-Runtime-Cognito-Identity")
        event = json.loads(resp.read())
    post("/invocation/%s/response" % rid, {"event": event, "deadline": deadline, "trace": trace, "cc": cc, "ci": ci})
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provided_python_bootstrap_and_init_errors() {
    let env = Env::new();
    let code = env.code("pyprovided", &[("bootstrap", PYTHON_PROVIDED)]);
    let functions = functions(env.settings());
    functions.upsert(config("ok", "provided.al2", "", &code));
    let mut failing = config("initfail", "provided.al2", "", &code);
    failing.environment.insert("FAIL_INIT".into(), "1".into());
    functions.upsert(failing);
    let mut exiting = config("initexit", "provided", "", &code);
    exiting.environment.insert("EXIT_INIT".into(), "1".into());
    functions.upsert(exiting);

    let outcome = functions
        .invoke(
            "ok",
            "$LATEST",
            Invocation {
                trace_id: Some("Root=1-abc".into()),
                client_context: Some("eyJjdXN0b20iOnt9fQ==".into()),
                cognito_identity: Some(r#"{"cognitoIdentityId":"id"}"#.into()),
                ..Invocation::new(r#"{"x": 1}"#)
            },
        )
        .await
        .expect("invoke");
    let doc = json(&outcome);
    assert_eq!(doc["event"]["x"], 1);
    assert_eq!(doc["trace"], "Root=1-abc");
    assert_eq!(doc["cc"], "eyJjdXN0b20iOnt9fQ==");
    assert_eq!(doc["ci"], r#"{"cognitoIdentityId":"id"}"#);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let deadline = doc["deadline"].as_u64().expect("deadline");
    assert!(
        deadline > now_ms && deadline <= now_ms + 3000,
        "{deadline} vs {now_ms}"
    );

    let failed = functions
        .invoke("initfail", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(failed.function_error.as_deref(), Some("Unhandled"));
    let doc = json(&failed);
    assert_eq!(doc["errorType"], "Custom.InitFailure");
    assert_eq!(doc["errorMessage"], "config missing");

    let exited = functions
        .invoke("initexit", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    let doc = json(&exited);
    assert_eq!(doc["errorType"], "Runtime.ExitError");
    assert_eq!(
        doc["errorMessage"],
        format!(
            "RequestId: {} Error: Runtime exited with error: exit status 3",
            exited.request_id
        )
    );
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bootstrap_is_an_invalid_entrypoint() {
    let env = Env::new();
    let code = env.code("empty", &[("README", "no bootstrap here")]);
    let functions = functions(env.settings());
    functions.upsert(config("empty", "provided.al2023", "", &code));
    let outcome = functions
        .invoke("empty", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(outcome.function_error.as_deref(), Some("Unhandled"));
    let doc = json(&outcome);
    assert_eq!(doc["errorType"], "Runtime.InvalidEntrypoint");
    assert!(
        doc["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("no such file or directory")),
        "{doc}"
    );
    assert_eq!(functions.live_instances(), 0);
    functions.upsert(config(
        "nodir",
        "python3.12",
        "app.handler",
        &env.scratch("does-not-exist"),
    ));
    let doc = json(
        &functions
            .invoke("nodir", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(doc["errorType"], "Runtime.InvalidEntrypoint");
    // Unsupported runtimes are Tollgate-side failures (the management API validates them).
    functions.upsert(config("java", "java21", "x::y", &code));
    let err = functions
        .invoke("java", "$LATEST", Invocation::new("{}"))
        .await
        .expect_err("unsupported");
    assert!(matches!(err, InvokeError::Failed(_)));
    functions.shutdown().await;
}
