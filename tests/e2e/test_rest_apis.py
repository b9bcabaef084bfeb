"""RestApi: CreateRestApi, GetRestApi, GetRestApis, UpdateRestApi, DeleteRestApi."""

import datetime

import pytest
from botocore.exceptions import ClientError

from helpers import API_ID_RE, UNKNOWN_API_MESSAGE_RE, assert_error, status_of


def test_create_rest_api_defaults(apigw):
    resp = apigw.create_rest_api(name="pets", description="Pet store")
    assert status_of(resp) == 201
    assert API_ID_RE.match(resp["id"]), resp["id"]
    assert resp["name"] == "pets"
    assert resp["description"] == "Pet store"
    assert isinstance(resp["createdDate"], datetime.datetime)
    assert resp["apiKeySource"] == "HEADER"
    assert resp["endpointConfiguration"]["types"] == ["EDGE"]
    assert resp["disableExecuteApiEndpoint"] is False
    assert resp["rootResourceId"]
    assert resp["rootResourceId"] != resp["id"]


def test_create_rest_api_ids_are_unique(apigw):
    ids = {apigw.create_rest_api(name=f"api-{i}")["id"] for i in range(5)}
    assert len(ids) == 5


def test_create_rest_api_optional_members(apigw):
    resp = apigw.create_rest_api(
        name="full",
        description="all the things",
        version="v1",
        binaryMediaTypes=["image/png"],
        minimumCompressionSize=1024,
        apiKeySource="AUTHORIZER",
        endpointConfiguration={"types": ["REGIONAL"]},
        disableExecuteApiEndpoint=True,
    )
    assert resp["version"] == "v1"
    assert resp["binaryMediaTypes"] == ["image/png"]
    assert resp["minimumCompressionSize"] == 1024
    assert resp["apiKeySource"] == "AUTHORIZER"
    assert resp["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert resp["disableExecuteApiEndpoint"] is True

    got = apigw.get_rest_api(restApiId=resp["id"])
    for key in ("version", "binaryMediaTypes", "minimumCompressionSize", "apiKeySource", "disableExecuteApiEndpoint"):
        assert got[key] == resp[key], key
    assert got["endpointConfiguration"]["types"] == ["REGIONAL"]


def test_create_rest_api_root_resource_is_slash(apigw):
    api = apigw.create_rest_api(name="root-check")
    items = apigw.get_resources(restApiId=api["id"])["items"]
    assert len(items) == 1
    assert items[0]["id"] == api["rootResourceId"]
    assert items[0]["path"] == "/"
    assert "parentId" not in items[0]


def test_get_rest_api(apigw):
    created = apigw.create_rest_api(name="getme", description="d")
    got = apigw.get_rest_api(restApiId=created["id"])
    assert status_of(got) == 200
    for key in ("id", "name", "description", "rootResourceId", "apiKeySource", "disableExecuteApiEndpoint"):
        assert got[key] == created[key], key
    assert got["endpointConfiguration"]["types"] == ["EDGE"]
    # createdDate is epoch seconds on the wire; compare to the second.
    assert int(got["createdDate"].timestamp()) == int(created["createdDate"].timestamp())


def test_get_rest_api_unknown(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.get_rest_api(restApiId="abcde01234")
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_get_rest_apis_empty(apigw):
    resp = apigw.get_rest_apis()
    assert status_of(resp) == 200
    assert resp.get("items", []) == []


def test_get_rest_apis_lists_all(apigw):
    ids = {apigw.create_rest_api(name=f"list-{i}")["id"] for i in range(3)}
    items = apigw.get_rest_apis()["items"]
    assert {i["id"] for i in items} == ids
    for item in items:
        assert item["name"].startswith("list-")
        assert "rootResourceId" in item


def test_get_rest_apis_pagination(apigw):
    ids = {apigw.create_rest_api(name=f"page-{i}")["id"] for i in range(3)}
    first = apigw.get_rest_apis(limit=2)
    assert len(first["items"]) == 2
    assert first.get("position"), "a truncated page must carry a position token"
    second = apigw.get_rest_apis(limit=2, position=first["position"])
    assert len(second["items"]) == 1
    assert not second.get("position"), "the last page must not carry a position"
    seen = [i["id"] for i in first["items"]] + [i["id"] for i in second["items"]]
    assert len(seen) == len(set(seen)) == 3
    assert set(seen) == ids


def test_get_rest_apis_paginator(apigw):
    ids = {apigw.create_rest_api(name=f"pg-{i}")["id"] for i in range(5)}
    pages = list(apigw.get_paginator("get_rest_apis").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    seen = [i["id"] for p in pages for i in p.get("items", [])]
    assert sorted(seen) == sorted(ids)


def test_update_rest_api_name_and_description(apigw, api):
    resp = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "replace", "path": "/description", "value": "new description"},
        ],
    )
    assert status_of(resp) == 200
    assert resp["name"] == "renamed"
    assert resp["description"] == "new description"
    got = apigw.get_rest_api(restApiId=api["id"])
    assert got["name"] == "renamed"
    assert got["description"] == "new description"


def test_update_rest_api_binary_media_types(apigw, api):
    # LocalStack's AWS-recorded snapshot test_update_rest_api_operation_add_remove:
    # add/remove /binaryMediaTypes/<escaped type>.
    resp = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[
            {"op": "add", "path": "/binaryMediaTypes/image~1png"},
            {"op": "add", "path": "/binaryMediaTypes/image~1jpeg"},
        ],
    )
    assert resp["binaryMediaTypes"] == ["image/png", "image/jpeg"]
    resp = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[{"op": "remove", "path": "/binaryMediaTypes/image~1png"}],
    )
    assert resp["binaryMediaTypes"] == ["image/jpeg"]
    assert apigw.get_rest_api(restApiId=api["id"])["binaryMediaTypes"] == ["image/jpeg"]
    resp = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[{"op": "remove", "path": "/binaryMediaTypes/image~1jpeg"}],
    )
    assert resp.get("binaryMediaTypes", []) == []


def test_update_rest_api_endpoint_type(apigw, api):
    resp = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[{"op": "replace", "path": "/endpointConfiguration/types/0", "value": "REGIONAL"}],
    )
    assert resp["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert apigw.get_rest_api(restApiId=api["id"])["endpointConfiguration"]["types"] == ["REGIONAL"]


def test_update_rest_api_minimum_compression_size(apigw, api):
    resp = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[{"op": "replace", "path": "/minimumCompressionSize", "value": "1024"}],
    )
    assert resp["minimumCompressionSize"] == 1024
    resp = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[{"op": "replace", "path": "/minimumCompressionSize", "value": "0"}],
    )
    assert resp["minimumCompressionSize"] == 0


def test_update_rest_api_negative_compression_size(apigw, api):
    # AWS text recorded in LocalStack's snapshot test_update_rest_api_compression.
    with pytest.raises(ClientError) as exc:
        apigw.update_rest_api(
            restApiId=api["id"],
            patchOperations=[{"op": "replace", "path": "/minimumCompressionSize", "value": "-1"}],
        )
    assert_error(exc, "BadRequestException", 400,
                 message="Invalid minimum compression size, must be between 0 and 10485760")


def test_update_rest_api_api_key_source_and_disable_endpoint(apigw, api):
    resp = apigw.update_rest_api(
        restApiId=api["id"],
        patchOperations=[
            {"op": "replace", "path": "/apiKeySource", "value": "AUTHORIZER"},
            {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "true"},
        ],
    )
    assert resp["apiKeySource"] == "AUTHORIZER"
    assert resp["disableExecuteApiEndpoint"] is True


def test_update_rest_api_unknown_path(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.update_rest_api(
            restApiId=api["id"],
            patchOperations=[{"op": "replace", "path": "/noSuchField", "value": "x"}],
        )
    assert_error(exc, "BadRequestException", 400)


def test_update_rest_api_unknown(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.update_rest_api(
            restApiId="abcde01234",
            patchOperations=[{"op": "replace", "path": "/name", "value": "x"}],
        )
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_update_rest_api_does_not_touch_other_fields(apigw):
    created = apigw.create_rest_api(name="keep", description="keep me", binaryMediaTypes=["image/gif"])
    apigw.update_rest_api(
        restApiId=created["id"],
        patchOperations=[{"op": "replace", "path": "/name", "value": "kept"}],
    )
    got = apigw.get_rest_api(restApiId=created["id"])
    assert got["name"] == "kept"
    assert got["description"] == "keep me"
    assert got["binaryMediaTypes"] == ["image/gif"]
    assert got["rootResourceId"] == created["rootResourceId"]


def test_delete_rest_api(apigw, api):
    resp = apigw.delete_rest_api(restApiId=api["id"])
    assert status_of(resp) == 202
    with pytest.raises(ClientError) as exc:
        apigw.get_rest_api(restApiId=api["id"])
    assert_error(exc, "NotFoundException", 404)
    assert api["id"] not in {i["id"] for i in apigw.get_rest_apis().get("items", [])}


def test_delete_rest_api_twice(apigw, api):
    apigw.delete_rest_api(restApiId=api["id"])
    with pytest.raises(ClientError) as exc:
        apigw.delete_rest_api(restApiId=api["id"])
    assert_error(exc, "NotFoundException", 404)


def test_delete_rest_api_removes_children(apigw, api):
    res = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    apigw.delete_rest_api(restApiId=api["id"])
    with pytest.raises(ClientError) as exc:
        apigw.get_resource(restApiId=api["id"], resourceId=res["id"])
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        apigw.get_resources(restApiId=api["id"])
    assert_error(exc, "NotFoundException", 404)


def test_delete_one_api_leaves_others(apigw):
    a = apigw.create_rest_api(name="a")
    b = apigw.create_rest_api(name="b")
    apigw.delete_rest_api(restApiId=a["id"])
    assert apigw.get_rest_api(restApiId=b["id"])["name"] == "b"
    assert [i["id"] for i in apigw.get_rest_apis()["items"]] == [b["id"]]
