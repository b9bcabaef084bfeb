//! Python functions through Tollgate's shipped bootstrap (and through awslambdaric when present).

mod common;

use std::time::{Duration, Instant};

use common::*;
use tollgate_functions::{Functions, Interpreters, Invocation, InvokeError, PythonClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_then_warm_reuse() {
    let env = Env::new();
    let code = env.code("counter", &[("app.py", PY_COUNTER)]);
    let functions = functions(env.settings());
    functions.upsert(config("counter", "python3.12", "app.handler", &code));

    let first = functions
        .invoke("counter", "$LATEST", Invocation::new(r#"{"n": 1}"#))
        .await
        .expect("invoke");
    assert_eq!(first.function_error, None, "{:?}", first.payload);
    let a = json(&first);
    assert_eq!(a["count"], 1);
    assert_eq!(a["event"]["n"], 1);
    assert_eq!(a["request_id"], first.request_id.as_str());
    assert_eq!(
        a["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:counter"
    );
    assert_eq!(a["memory"], "256");
    assert_eq!(a["log_group"], "/aws/lambda/counter");
    assert_eq!(a["version"], "$LATEST");
    let remaining = a["remaining"].as_u64().expect("remaining");
    assert!(remaining > 2000 && remaining <= 3000, "{remaining}");
    assert_eq!(first.executed_version, "$LATEST");

    let second = functions
        .invoke("counter", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    let b = json(&second);
    assert_eq!(b["count"], 2, "the warm instance keeps module state");
    assert_eq!(a["pid"], b["pid"]);
    assert_ne!(first.request_id, second.request_id);
    assert_eq!(functions.live_instances(), 1);
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_variables() {
    let env = Env::new();
    let code = env.code(
        "envfn",
        &[(
            "app.py",
            "import os\ndef handler(event, context):\n    return dict(os.environ)\n",
        )],
    );
    let functions = functions(env.settings());
    let mut cfg = config("envfn", "python3.12", "app.handler", &code);
    cfg.environment.insert("GREETING".into(), "hello".into());
    cfg.environment
        .insert("AWS_ACCESS_KEY_ID".into(), "mykey".into());
    cfg.memory_mb = 512;
    functions.upsert(cfg);
    let outcome = functions
        .invoke("envfn", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    let vars = json(&outcome);
    assert_eq!(vars["GREETING"], "hello");
    assert_eq!(vars["AWS_LAMBDA_FUNCTION_NAME"], "envfn");
    assert_eq!(vars["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(vars["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "512");
    assert_eq!(vars["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/envfn");
    assert!(
        vars["AWS_LAMBDA_LOG_STREAM_NAME"]
            .as_str()
            .is_some_and(|s| s.contains("[$LATEST]"))
    );
    assert_eq!(vars["_HANDLER"], "app.handler");
    assert_eq!(vars["LAMBDA_TASK_ROOT"], code.display().to_string());
    assert!(vars["LAMBDA_RUNTIME_DIR"].is_string());
    assert!(
        vars["AWS_LAMBDA_RUNTIME_API"]
            .as_str()
            .is_some_and(|s| s.starts_with("127.0.0.1:"))
    );
    assert_eq!(vars["AWS_REGION"], "us-east-1");
    assert_eq!(vars["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(vars["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
    assert_eq!(vars["TZ"], ":UTC");
    assert!(vars["PATH"].is_string());
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], "mykey", "function env wins");
    assert!(vars["AWS_SECRET_ACCESS_KEY"].is_string());
    assert!(vars["AWS_SESSION_TOKEN"].is_string());
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handled_error_comes_back_and_instance_stays_warm() {
    let env = Env::new();
    let code = env.code(
        "fails",
        &[(
            "app.py",
            "import os\ndef handler(event, context):\n    if event.get('fail'):\n        raise ValueError('boom')\n    return os.getpid()\n",
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("fails", "python3.11", "app.handler", &code));
    let ok = functions
        .invoke("fails", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    let pid = json(&ok);
    let failed = functions
        .invoke("fails", "$LATEST", Invocation::new(r#"{"fail": true}"#))
        .await
        .expect("invoke");
    assert_eq!(failed.function_error.as_deref(), Some("Unhandled"));
    let doc = json(&failed);
    assert_eq!(doc["errorType"], "ValueError");
    assert_eq!(doc["errorMessage"], "boom");
    assert!(
        doc["stackTrace"]
            .as_array()
            .is_some_and(|lines| !lines.is_empty())
    );
    let again = functions
        .invoke("fails", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(json(&again), pid, "an error does not discard the instance");
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_errors() {
    let env = Env::new();
    let code = env.code(
        "broken",
        &[
            ("raises.py", "raise RuntimeError('cannot start')\n"),
            ("ok.py", "def handler(e, c):\n    return 1\n"),
        ],
    );
    let functions = functions(env.settings());
    functions.upsert(config("missing", "python3.12", "nothere.handler", &code));
    functions.upsert(config("raises", "python3.12", "raises.handler", &code));
    functions.upsert(config("nohandler", "python3.12", "ok.other", &code));

    let outcome = functions
        .invoke("missing", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(outcome.function_error.as_deref(), Some("Unhandled"));
    let doc = json(&outcome);
    assert_eq!(doc["errorType"], "Runtime.ImportModuleError");
    assert!(
        doc["errorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("Unable to import module 'nothere'")),
        "{doc}"
    );

    let doc = json(
        &functions
            .invoke("raises", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(doc["errorType"], "RuntimeError");
    assert_eq!(doc["errorMessage"], "cannot start");

    let doc = json(
        &functions
            .invoke("nohandler", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(doc["errorType"], "Runtime.HandlerNotFound");
    assert_eq!(functions.live_instances(), 0, "failed instances are gone");
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_is_an_exit_error_and_the_instance_is_replaced() {
    let env = Env::new();
    let code = env.code(
        "crash",
        &[(
            "app.py",
            "import os\ndef handler(event, context):\n    if event.get('crash'):\n        os._exit(1)\n    return os.getpid()\n",
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("crash", "python3.12", "app.handler", &code));
    let outcome = functions
        .invoke("crash", "$LATEST", Invocation::new(r#"{"crash": true}"#))
        .await
        .expect("invoke");
    assert_eq!(outcome.function_error.as_deref(), Some("Unhandled"));
    let doc = json(&outcome);
    assert_eq!(doc["errorType"], "Runtime.ExitError");
    assert_eq!(
        doc["errorMessage"],
        format!(
            "RequestId: {} Error: Runtime exited with error: exit status 1",
            outcome.request_id
        )
    );
    let next = functions
        .invoke("crash", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(next.function_error, None);
    assert!(json(&next).is_u64());
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_process_group() {
    let env = Env::new();
    let pids = env.scratch("pids");
    let code = env.code(
        "slow",
        &[(
            "app.py",
            r#"
import os, subprocess, time
def handler(event, context):
    if event.get("warm"):
        return "warm"
    child = subprocess.Popen(["sleep", "30"])
    with open(event["pids"], "w") as f:
        f.write("%d %d" % (os.getpid(), child.pid))
    time.sleep(5)
    return "late"
"#,
        )],
    );
    let functions = functions(env.settings());
    let mut cfg = config("slow", "python3.12", "app.handler", &code);
    cfg.timeout = Duration::from_secs(1);
    functions.upsert(cfg);
    // Warm up first so the measured invocation has no init time.
    functions
        .invoke("slow", "$LATEST", Invocation::new(r#"{"warm": true}"#))
        .await
        .expect("warm up");
    let payload = serde_json::json!({ "pids": pids }).to_string();
    let started = Instant::now();
    let outcome = functions
        .invoke("slow", "$LATEST", Invocation::new(payload))
        .await
        .expect("invoke");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1800), "{elapsed:?}");
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert_eq!(outcome.function_error.as_deref(), Some("Unhandled"));
    let doc = json(&outcome);
    let message = doc["errorMessage"].as_str().expect("message");
    assert!(
        message.ends_with(&format!(
            "{} Task timed out after 1.00 seconds",
            outcome.request_id
        )),
        "{message}"
    );
    assert!(message.contains('T') && message.split(' ').next().is_some_and(|t| t.ends_with('Z')));
    let text = std::fs::read_to_string(&pids).expect("pids");
    for pid in text.split(' ') {
        let pid: u64 = pid.parse().expect("pid");
        assert!(gone_within(pid, Duration::from_secs(1)).await, "pid {pid}");
    }
    assert_eq!(functions.live_instances(), 0);
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory() {
    let env = Env::new();
    let code = env.code(
        "hog",
        &[(
            "app.py",
            "import time\ndef handler(event, context):\n    data = b'x' * (400 * 1024 * 1024)\n    time.sleep(2)\n    return len(data)\n",
        )],
    );
    let functions = functions(env.settings());
    let mut cfg = config("hog", "python3.12", "app.handler", &code);
    cfg.memory_mb = 128;
    functions.upsert(cfg);
    let outcome = functions
        .invoke("hog", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    let doc = json(&outcome);
    assert_eq!(doc["errorType"], "Runtime.OutOfMemory", "{doc}");
    assert_eq!(outcome.function_error.as_deref(), Some("Unhandled"));
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_scale_out() {
    let env = Env::new();
    let code = env.code(
        "sleepy",
        &[(
            "app.py",
            "import os, time\ndef handler(event, context):\n    time.sleep(0.4)\n    return os.getpid()\n",
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("sleepy", "python3.12", "app.handler", &code));
    let pids = distinct_pids(&invoke_at_once(&functions, "sleepy", 3).await);
    assert_eq!(pids.len(), 3, "three instances");
    assert_eq!(functions.live_instances(), 3);

    // Sequential invocations now reuse those warm instances.
    let again = functions
        .invoke("sleepy", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert!(pids.contains(&json(&again).as_u64().expect("pid")));
    assert_eq!(functions.live_instances(), 3);
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_invocations_in_a_burst_wait_for_warm_instances() {
    let env = Env::new();
    let code = env.code(
        "quick",
        &[(
            "app.py",
            "import os\ndef handler(event, context):\n    return os.getpid()\n",
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("quick", "python3.12", "app.handler", &code));
    // The first cold start teaches the pool its init duration (a Python init: tens of ms).
    let first = functions
        .invoke("quick", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(first.function_error, None, "{:?}", first.payload);

    // A burst of quick calls: returning the warm instance takes far less than half an init,
    // so the calls line up for it instead of each starting a process.
    for outcome in invoke_at_once(&functions, "quick", 16).await {
        assert_eq!(outcome.function_error, None, "{:?}", outcome.payload);
    }
    assert!(
        functions.live_instances() < 16,
        "{} instances for 16 quick calls",
        functions.live_instances()
    );
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_on_a_slow_init_starts_few_instances_at_a_time() {
    let env = Env::new();
    let code = env.code(
        "slowinit",
        &[(
            "app.py",
            "import os, time\ntime.sleep(0.5)\ndef handler(event, context):\n    return os.getpid()\n",
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("slowinit", "python3.12", "app.handler", &code));
    // Twelve calls at once on a cold pool: the calls wait for the first instance rather than
    // each starting one, and the instances started meanwhile are started a few at a time.
    let pids = distinct_pids(&invoke_at_once(&functions, "slowinit", 12).await);
    assert!(pids.len() <= 6, "{} instances for 12 calls", pids.len());
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_throttles() {
    let env = Env::new();
    let code = env.code(
        "limited",
        &[(
            "app.py",
            "import time\ndef handler(event, context):\n    time.sleep(0.3)\n    return 'ok'\n",
        )],
    );
    let functions = functions(env.settings());
    let mut cfg = config("limited", "python3.12", "app.handler", &code);
    cfg.reserved_concurrency = Some(1);
    functions.upsert(cfg.clone());
    let (a, b) = tokio::join!(
        functions.invoke("limited", "$LATEST", Invocation::new("{}")),
        functions.invoke("limited", "$LATEST", Invocation::new("{}")),
    );
    let results = [a, b];
    let throttled = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(InvokeError::Throttled {
                    reason: "ReservedFunctionConcurrentInvocationLimitExceeded"
                })
            )
        })
        .count();
    assert_eq!(throttled, 1);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);

    cfg.reserved_concurrency = Some(0);
    functions.upsert(cfg);
    let err = functions
        .invoke("limited", "$LATEST", Invocation::new("{}"))
        .await
        .expect_err("throttled");
    assert!(matches!(
        err,
        InvokeError::Throttled {
            reason: "ReservedFunctionConcurrentInvocationLimitExceeded"
        }
    ));
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_concurrency_cap_throttles() {
    let env = Env::new();
    let code = env.code(
        "capped",
        &[(
            "app.py",
            "import time\ndef handler(event, context):\n    time.sleep(0.3)\n    return 'ok'\n",
        )],
    );
    let mut settings = env.settings();
    settings.max_concurrency = 1;
    let functions = functions(settings);
    functions.upsert(config("capped", "python3.12", "app.handler", &code));
    functions.upsert(config("other", "python3.12", "app.handler", &code));
    let (a, b) = tokio::join!(
        functions.invoke("capped", "$LATEST", Invocation::new("{}")),
        functions.invoke("other", "$LATEST", Invocation::new("{}")),
    );
    let throttled = [&a, &b]
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(InvokeError::Throttled {
                    reason: "ConcurrentInvocationLimitExceeded"
                })
            )
        })
        .count();
    assert_eq!(throttled, 1);
    // With one instance allowed, invoking the other function evicts the idle one.
    functions
        .invoke("capped", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    functions
        .invoke("other", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(functions.live_instances(), 1);
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_tail() {
    let env = Env::new();
    let code = env.code("logger", &[("app.py", PY_COUNTER)]);
    let functions = functions(env.settings());
    functions.upsert(config("logger", "python3.12", "app.handler", &code));
    let first = functions
        .invoke(
            "logger",
            "$LATEST",
            Invocation {
                tail_log: true,
                ..Invocation::new("{}")
            },
        )
        .await
        .expect("invoke");
    let tail = first.log_tail.clone().expect("tail");
    let id = &first.request_id;
    assert!(
        tail.contains(&format!("START RequestId: {id} Version: $LATEST\n")),
        "{tail}"
    );
    assert!(tail.contains("invocation 1 of logger\n"), "{tail}");
    assert!(tail.contains(&format!("END RequestId: {id}\n")), "{tail}");
    let report = tail
        .lines()
        .find(|l| l.starts_with("REPORT"))
        .expect("report");
    assert!(report.starts_with(&format!("REPORT RequestId: {id}\tDuration: ")));
    assert!(report.contains(" ms\tBilled Duration: "), "{report}");
    assert!(
        report.contains("\tMemory Size: 256 MB\tMax Memory Used: "),
        "{report}"
    );
    assert!(report.contains("\tInit Duration: "), "{report}");
    let start = tail.find("START").expect("start");
    let printed = tail.find("invocation 1").expect("printed");
    let end = tail.find("END RequestId").expect("end");
    assert!(start < printed && printed < end, "{tail}");

    let second = functions
        .invoke(
            "logger",
            "$LATEST",
            Invocation {
                tail_log: true,
                ..Invocation::new("{}")
            },
        )
        .await
        .expect("invoke");
    let tail2 = second.log_tail.clone().expect("tail");
    assert!(!tail2.contains(&first.request_id), "only this invocation");
    assert!(tail2.contains("invocation 2 of logger"));
    assert!(!tail2.contains("Init Duration"), "warm start");

    let third = functions
        .invoke("logger", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert!(third.log_tail.is_none());

    let log = std::fs::read_to_string(functions.log_path("logger")).expect("log file");
    for outcome in [&first, &second, &third] {
        let id = &outcome.request_id;
        assert!(log.contains(&format!("START RequestId: {id}")));
        assert!(log.contains(&format!("END RequestId: {id}")));
        assert!(log.contains(&format!("REPORT RequestId: {id}")));
    }
    assert!(log.contains("invocation 3 of logger"));
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_stay_within_bound() {
    let env = Env::new();
    let code = env.code(
        "chatty",
        &[(
            "app.py",
            "def handler(event, context):\n    for i in range(200):\n        print('x' * 100, i)\n    return 1\n",
        )],
    );
    let mut settings = env.settings();
    settings.log_bytes_per_function = 16 * 1024;
    let functions = functions(settings);
    functions.upsert(config("chatty", "python3.12", "app.handler", &code));
    for _ in 0..3 {
        functions
            .invoke("chatty", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke");
    }
    let path = functions.log_path("chatty");
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut rotated = path.clone().into_os_string();
    rotated.push(".1");
    let total = size(&path) + size(std::path::Path::new(&rotated));
    assert!(total <= 16 * 1024, "{total}");
    assert!(
        std::fs::read_to_string(&path)
            .expect("log")
            .contains("REPORT")
    );
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_instances_stop() {
    let env = Env::new();
    let code = env.code("idle", &[("app.py", PY_COUNTER)]);
    let mut settings = env.settings();
    settings.idle_timeout = Duration::from_millis(200);
    let functions = functions(settings);
    functions.upsert(config("idle", "python3.12", "app.handler", &code));
    let outcome = functions
        .invoke("idle", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    let pid = json(&outcome)["pid"].as_u64().expect("pid");
    assert!(alive(pid));
    assert!(gone_within(pid, Duration::from_secs(2)).await);
    // The sweeper releases the instance's place just after reaping its process.
    let deadline = Instant::now() + Duration::from_secs(1);
    while functions.live_instances() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(functions.live_instances(), 0);
    // Scaled to zero; the next invocation is a cold start.
    let next = functions
        .invoke("idle", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(json(&next)["count"], 1);
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfigure_starts_new_instances() {
    let env = Env::new();
    let code = env.code(
        "conf",
        &[(
            "app.py",
            "import os\ndef handler(event, context):\n    return [os.environ.get('MODE'), os.getpid()]\n",
        )],
    );
    let functions = functions(env.settings());
    let mut cfg = config("conf", "python3.12", "app.handler", &code);
    cfg.environment.insert("MODE".into(), "one".into());
    functions.upsert(cfg.clone());
    let first = json(
        &functions
            .invoke("conf", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(first[0], "one");
    // The same configuration again keeps the warm instance.
    functions.upsert(cfg.clone());
    let same = json(
        &functions
            .invoke("conf", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(same[1], first[1]);

    // Hot reload: same configuration, changed code, explicit reload.
    std::fs::write(
        code.join("app.py"),
        "import os\ndef handler(event, context):\n    return ['reloaded', os.getpid()]\n",
    )
    .expect("rewrite");
    functions.reload("conf", "$LATEST");
    let reloaded = json(
        &functions
            .invoke("conf", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(reloaded[0], "reloaded");
    std::fs::write(
        code.join("app.py"),
        "import os\ndef handler(event, context):\n    return [os.environ.get('MODE'), os.getpid()]\n",
    )
    .expect("rewrite");

    cfg.environment.insert("MODE".into(), "two".into());
    functions.upsert(cfg);
    let second = json(
        &functions
            .invoke("conf", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(second[0], "two");
    assert_ne!(second[1], reloaded[1]);
    let old = reloaded[1].as_u64().expect("pid");
    assert!(gone_within(old, Duration::from_secs(1)).await);
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfigure_lets_busy_instances_finish() {
    let env = Env::new();
    let code = env.code(
        "busy",
        &[(
            "app.py",
            "import os, time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return [os.environ.get('MODE'), os.getpid()]\n",
        )],
    );
    let functions = functions(env.settings());
    let mut cfg = config("busy", "python3.12", "app.handler", &code);
    cfg.environment.insert("MODE".into(), "old".into());
    functions.upsert(cfg.clone());
    let slow = {
        let functions = functions.clone();
        tokio::spawn(async move {
            functions
                .invoke("busy", "$LATEST", Invocation::new(r#"{"sleep": 0.5}"#))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(250)).await;
    cfg.environment.insert("MODE".into(), "new".into());
    functions.upsert(cfg);
    let old = json(&slow.await.expect("join").expect("invoke"));
    assert_eq!(old[0], "old", "the busy instance finished its invocation");
    let pid = old[1].as_u64().expect("pid");
    assert!(
        gone_within(pid, Duration::from_secs(1)).await,
        "then stopped"
    );
    let new = json(
        &functions
            .invoke("busy", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(new[0], "new");
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_and_not_found() {
    let env = Env::new();
    let code = env.code("gone", &[("app.py", PY_COUNTER)]);
    let functions = functions(env.settings());
    let err = functions
        .invoke("gone", "$LATEST", Invocation::new("{}"))
        .await
        .expect_err("not found");
    assert!(matches!(err, InvokeError::NotFound(_)));
    functions.upsert(config("gone", "python3.12", "app.handler", &code));
    let outcome = functions
        .invoke("gone", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    let pid = json(&outcome)["pid"].as_u64().expect("pid");
    let err = functions
        .invoke("gone", "1", Invocation::new("{}"))
        .await
        .expect_err("no version 1");
    assert!(matches!(err, InvokeError::NotFound(_)));
    functions.remove("gone", "$LATEST");
    assert!(gone_within(pid, Duration::from_secs(1)).await);
    let err = functions
        .invoke("gone", "$LATEST", Invocation::new("{}"))
        .await
        .expect_err("removed");
    assert!(matches!(err, InvokeError::NotFound(_)));
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_separate_pools() {
    let env = Env::new();
    let code = env.code("versioned", &[("app.py", PY_COUNTER)]);
    let functions = functions(env.settings());
    functions.upsert(config("versioned", "python3.12", "app.handler", &code));
    let mut v1 = config("versioned", "python3.12", "app.handler", &code);
    v1.qualifier = "1".into();
    functions.upsert(v1);
    let latest = functions
        .invoke("versioned", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    let one = functions
        .invoke("versioned", "1", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(one.executed_version, "1");
    let doc = json(&one);
    assert_eq!(doc["version"], "1");
    assert_eq!(
        doc["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:versioned:1"
    );
    assert_ne!(doc["pid"], json(&latest)["pid"]);
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_limits() {
    let env = Env::new();
    let code = env.code(
        "big",
        &[(
            "app.py",
            "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024) if event.get('big') else 'small'\n",
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("big", "python3.12", "app.handler", &code));
    let too_big = vec![b' '; 6 * 1024 * 1024 + 1];
    let err = functions
        .invoke("big", "$LATEST", Invocation::new(too_big))
        .await
        .expect_err("too large");
    assert!(matches!(err, InvokeError::RequestTooLarge(_)));
    let outcome = functions
        .invoke("big", "$LATEST", Invocation::new(r#"{"big": true}"#))
        .await
        .expect("invoke");
    assert_eq!(outcome.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(json(&outcome)["errorType"], "Function.ResponseSizeTooLarge");
    let small = functions
        .invoke("big", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(json(&small), "small");
    functions.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_everything() {
    let env = Env::new();
    let code = env.code(
        "stay",
        &[(
            "app.py",
            "import os, time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return os.getpid()\n",
        )],
    );
    let functions = functions(env.settings());
    functions.upsert(config("idle-one", "python3.12", "app.handler", &code));
    functions.upsert(config("busy-one", "python3.12", "app.handler", &code));
    let idle_pid = json(
        &functions
            .invoke("idle-one", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    )
    .as_u64()
    .expect("pid");
    let busy = {
        let functions = functions.clone();
        tokio::spawn(async move {
            functions
                .invoke("busy-one", "$LATEST", Invocation::new(r#"{"sleep": 10}"#))
                .await
        })
    };
    // Let the busy instance start and take its event.
    let deadline = Instant::now() + Duration::from_secs(3);
    while functions.live_instances() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    functions.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(functions.live_instances(), 0);
    assert!(!alive(idle_pid));
    let outcome = busy.await.expect("join").expect("outcome");
    assert_eq!(json(&outcome)["errorType"], "Runtime.ExitError");
    let err = functions
        .invoke("idle-one", "$LATEST", Invocation::new("{}"))
        .await
        .expect_err("after shutdown");
    assert!(matches!(err, InvokeError::Failed(_)));
}

/// AWS's own runtime client, when the machine's python has it (or the python named by
/// `TOLLGATE_TEST_AWSLAMBDARIC_PYTHON`, e.g. a venv with `pip install awslambdaric`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awslambdaric_when_available() {
    let python = std::env::var("TOLLGATE_TEST_AWSLAMBDARIC_PYTHON").unwrap_or("python3".into());
    let importable = std::process::Command::new(&python)
        .args(["-c", "import awslambdaric"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !importable {
        eprintln!("skipped: awslambdaric is not importable by {python}");
        return;
    }
    let env = Env::new();
    let code = env.code(
        "ric",
        &[
            ("app.py", PY_COUNTER),
            (
                "bad.py",
                "def handler(event, context):\n    raise KeyError('nope')\n",
            ),
        ],
    );
    let functions = Functions::with_interpreters(
        env.settings(),
        Interpreters {
            python: python.into(),
            python_client: PythonClient::Awslambdaric,
            ..Interpreters::default()
        },
    );
    functions.upsert(config("ric", "python3.12", "app.handler", &code));
    functions.upsert(config("ricbad", "python3.12", "bad.handler", &code));
    functions.upsert(config("ricmissing", "python3.12", "nothere.handler", &code));
    let first = functions
        .invoke(
            "ric",
            "$LATEST",
            Invocation {
                tail_log: true,
                ..Invocation::new(r#"{"k": "v"}"#)
            },
        )
        .await
        .expect("invoke");
    assert_eq!(first.function_error, None, "{:?}", first.payload);
    let a = json(&first);
    assert_eq!(a["event"]["k"], "v");
    assert_eq!(a["request_id"], first.request_id.as_str());
    assert!(
        first
            .log_tail
            .expect("tail")
            .contains("invocation 1 of ric")
    );
    let b = json(
        &functions
            .invoke("ric", "$LATEST", Invocation::new("{}"))
            .await
            .expect("invoke"),
    );
    assert_eq!(b["count"], 2);
    assert_eq!(a["pid"], b["pid"]);

    let bad = functions
        .invoke("ricbad", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(bad.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(json(&bad)["errorType"], "KeyError");

    let missing = functions
        .invoke("ricmissing", "$LATEST", Invocation::new("{}"))
        .await
        .expect("invoke");
    assert_eq!(missing.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(json(&missing)["errorType"], "Runtime.ImportModuleError");
    functions.shutdown().await;
}
