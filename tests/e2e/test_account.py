"""Account: GetAccount, UpdateAccount."""

import pytest
from botocore.exceptions import ClientError

from helpers import assert_error, status_of

ROLE = "arn:aws:iam::123456789012:role/APIGatewayToCloudWatchLogs"


def test_get_account_defaults(apigw):
    resp = apigw.get_account()
    assert status_of(resp) == 200
    # Default account-level throttle: 10,000 RPS, burst 5,000 (API Gateway quotas page).
    assert resp["throttleSettings"]["burstLimit"] == 5000
    assert resp["throttleSettings"]["rateLimit"] == 10000.0
    assert "cloudwatchRoleArn" not in resp


def test_update_account_cloudwatch_role(apigw):
    resp = apigw.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ROLE}])
    assert status_of(resp) == 200
    assert resp["cloudwatchRoleArn"] == ROLE
    assert resp["throttleSettings"]["burstLimit"] == 5000
    got = apigw.get_account()
    assert got["cloudwatchRoleArn"] == ROLE
    assert got["throttleSettings"]["rateLimit"] == 10000.0


def test_update_account_unknown_path(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.update_account(patchOperations=[{"op": "replace", "path": "/noSuchField", "value": "1"}])
    assert_error(exc, "BadRequestException", 400)
    assert apigw.get_account()["throttleSettings"]["rateLimit"] == 10000.0


def test_reset_clears_account(apigw, endpoint):
    import requests

    apigw.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ROLE}])
    requests.post(endpoint + "/_tollgate/reset", timeout=10).raise_for_status()
    assert "cloudwatchRoleArn" not in apigw.get_account()
