"""Tollgate's Python runtime interface client.

Used when the official client (`awslambdaric`) is not installed. It speaks the AWS Lambda Runtime
API at $AWS_LAMBDA_RUNTIME_API with the standard library only, imports the handler named by
$_HANDLER ("module.function", "pkg/module.function" or "pkg.module.function") from
$LAMBDA_TASK_ROOT, and reports errors with the same documents and error types as AWS's runtime:
Runtime.ImportModuleError, Runtime.HandlerNotFound, Runtime.UserCodeSyntaxError,
Runtime.UnmarshalError, Runtime.MarshalError, and the exception's own type for handler errors.
"""

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PREFIX = "/2018-06-01/runtime"

_request_id = ""


class _Client:
    """One keep-alive HTTP connection to the Runtime API, reopened on failure."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host = host or "127.0.0.1"
        self.port = int(port)
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)
            try:
                self.conn.request(method, PREFIX + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, resp, resp.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise


_client = _Client(API)


class CognitoIdentity:
    def __init__(self, data):
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Client:
    def __init__(self, data):
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    def __init__(self, data):
        self.client = Client(data["client"]) if data.get("client") else None
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    """The context object, with the attributes and method of AWS's."""

    def __init__(self, request_id, deadline_ms, arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = CognitoIdentity(identity or {})
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()


def _error_doc(exc, error_type=None):
    tb = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": _request_id,
        "stackTrace": traceback.format_list(tb),
    }


def _log_error(doc):
    lines = "".join(doc.get("stackTrace") or [])
    message = "[ERROR] %s: %s" % (doc["errorType"], doc["errorMessage"])
    if lines:
        message += "\nTraceback (most recent call last):\n" + lines
    sys.stdout.write(message.rstrip("\n") + "\n")
    sys.stdout.flush()


def _post_error(path, doc):
    body = json.dumps(doc).encode()
    _client.request(
        "POST",
        path,
        body,
        {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": doc["errorType"]},
    )


class _InitError(Exception):
    def __init__(self, doc):
        super().__init__(doc["errorMessage"])
        self.doc = doc


def _load_handler(spec):
    try:
        module_path, function_name = spec.rsplit(".", 1)
    except ValueError:
        raise _InitError({
            "errorMessage": "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % spec,
            "errorType": "Runtime.MalformedHandlerName",
            "requestId": "",
            "stackTrace": [],
        })
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _InitError({
            "errorMessage": "Unable to import module '%s': %s" % (module_path, exc),
            "errorType": "Runtime.ImportModuleError",
            "requestId": "",
            "stackTrace": [],
        })
    except SyntaxError as exc:
        raise _InitError({
            "errorMessage": "Syntax error in module '%s': %s" % (module_path, exc),
            "errorType": "Runtime.UserCodeSyntaxError",
            "requestId": "",
            "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
        })
    except Exception as exc:  # noqa: BLE001 - any exception at import is an init error
        raise _InitError(_error_doc(exc))
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError({
            "errorMessage": "Handler '%s' missing on module '%s'" % (function_name, module_path),
            "errorType": "Runtime.HandlerNotFound",
            "requestId": "",
            "stackTrace": [],
        })
    return handler


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id
        return True


def _setup_logging():
    """Configure the root logger like Lambda: `[LEVEL]\ttimestamp\trequest id\tmessage`."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())


def main():
    global _request_id
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    _setup_logging()
    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _InitError as exc:
        _log_error(exc.doc)
        _post_error("/init/error", exc.doc)
        sys.exit(1)

    while True:
        status, resp, body = _client.request("GET", "/invocation/next")
        if status != 200:
            sys.exit(1)  # the instance is being stopped
        _request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id", "")
        trace_id = resp.getheader("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        client_context = resp.getheader("Lambda-Runtime-Client-Context")
        identity = resp.getheader("Lambda-Runtime-Cognito-Identity")
        context = LambdaContext(
            _request_id,
            int(resp.getheader("Lambda-Runtime-Deadline-Ms", "0")),
            resp.getheader("Lambda-Runtime-Invoked-Function-Arn"),
            json.loads(client_context) if client_context else None,
            json.loads(identity) if identity else None,
        )
        base = "/invocation/%s" % _request_id
        try:
            event = json.loads(body) if body else None
        except ValueError as exc:
            doc = {
                "errorMessage": "Unable to unmarshal input: %s" % exc,
                "errorType": "Runtime.UnmarshalError",
                "requestId": _request_id,
                "stackTrace": [],
            }
            _log_error(doc)
            _post_error(base + "/error", doc)
            continue
        try:
            result = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - the handler's error goes back to the caller
            doc = _error_doc(exc)
            _log_error(doc)
            _post_error(base + "/error", doc)
            continue
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            doc = {
                "errorMessage": "Unable to marshal response: %s" % exc,
                "errorType": "Runtime.MarshalError",
                "requestId": _request_id,
                "stackTrace": [],
            }
            _log_error(doc)
            _post_error(base + "/error", doc)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        _client.request("POST", base + "/response", payload, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
