"""Tags: TagResource, GetTags, UntagResource, and tags given at creation.

ARN forms: arn:aws:apigateway:{region}::/restapis/{id} and .../restapis/{id}/stages/{name}
(no account id), per the API Gateway ARN reference.
"""

import pytest
from botocore.exceptions import ClientError

from helpers import deployable_api, rest_api_arn, stage_arn, status_of


def test_tags_at_create_rest_api(apigw):
    api = apigw.create_rest_api(name="tagged", tags={"team": "core", "env": "dev"})
    assert api["tags"] == {"team": "core", "env": "dev"}
    assert apigw.get_rest_api(restApiId=api["id"])["tags"] == {"team": "core", "env": "dev"}
    listed = [a for a in apigw.get_rest_apis()["items"] if a["id"] == api["id"]][0]
    assert listed["tags"] == {"team": "core", "env": "dev"}
    tags = apigw.get_tags(resourceArn=rest_api_arn(api["id"]))
    assert status_of(tags) == 200
    assert tags["tags"] == {"team": "core", "env": "dev"}


def test_tag_get_untag_rest_api(apigw, api):
    arn = rest_api_arn(api["id"])
    assert apigw.get_tags(resourceArn=arn).get("tags", {}) == {}

    resp = apigw.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2", "c": "3"})
    assert status_of(resp) == 204
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"a": "1", "b": "2", "c": "3"}
    assert apigw.get_rest_api(restApiId=api["id"])["tags"] == {"a": "1", "b": "2", "c": "3"}

    # Tagging again merges and overwrites values.
    apigw.tag_resource(resourceArn=arn, tags={"a": "one", "d": "4"})
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"a": "one", "b": "2", "c": "3", "d": "4"}

    resp = apigw.untag_resource(resourceArn=arn, tagKeys=["b", "c"])
    assert status_of(resp) == 204
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"a": "one", "d": "4"}

    # Removing a key that is not there is not an error.
    apigw.untag_resource(resourceArn=arn, tagKeys=["nope"])
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"a": "one", "d": "4"}


def test_tags_on_stage(apigw):
    api_id, _ = deployable_api(apigw)
    dep = apigw.create_deployment(restApiId=api_id)
    stage = apigw.create_stage(restApiId=api_id, stageName="dev", deploymentId=dep["id"], tags={"tier": "gold"})
    assert stage["tags"] == {"tier": "gold"}
    arn = stage_arn(api_id, "dev")
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"tier": "gold"}

    apigw.tag_resource(resourceArn=arn, tags={"owner": "me"})
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"tier": "gold", "owner": "me"}
    assert apigw.get_stage(restApiId=api_id, stageName="dev")["tags"] == {"tier": "gold", "owner": "me"}

    apigw.untag_resource(resourceArn=arn, tagKeys=["tier"])
    assert apigw.get_tags(resourceArn=arn)["tags"] == {"owner": "me"}

    # Stage tags and API tags are separate.
    assert apigw.get_tags(resourceArn=rest_api_arn(api_id)).get("tags", {}) == {}


def test_tag_unknown_rest_api(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.tag_resource(resourceArn=rest_api_arn("abcde01234"), tags={"a": "1"})
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)


def test_tags_disappear_with_rest_api(apigw):
    api = apigw.create_rest_api(name="short-lived", tags={"x": "y"})
    apigw.delete_rest_api(restApiId=api["id"])
    new = apigw.create_rest_api(name="other")
    assert apigw.get_tags(resourceArn=rest_api_arn(new["id"])).get("tags", {}) == {}
