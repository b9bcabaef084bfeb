"""Resources: GetResources, CreateResource, GetResource, UpdateResource, DeleteResource.

Exact messages asserted here are the ones recorded against real AWS in LocalStack's
snapshot file tests/aws/services/apigateway/test_apigateway_api.snapshot.json
(TestApiGatewayApiResource::*), unless noted otherwise.
"""

import pytest
from botocore.exceptions import ClientError

from helpers import UNKNOWN_API_MESSAGE_RE, assert_error, status_of


def _paths(apigw, api_id):
    return {r["path"]: r for r in apigw.get_resources(restApiId=api_id)["items"]}


def test_create_resource(apigw, api):
    resp = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    assert status_of(resp) == 201
    assert resp["id"]
    assert resp["parentId"] == api["rootResourceId"]
    assert resp["pathPart"] == "pets"
    assert resp["path"] == "/pets"


def test_create_nested_resources_paths(apigw, api):
    pets = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    pet = apigw.create_resource(restApiId=api["id"], parentId=pets["id"], pathPart="{petId}")
    assert pet["path"] == "/pets/{petId}"
    assert pet["parentId"] == pets["id"]
    toys = apigw.create_resource(restApiId=api["id"], parentId=pet["id"], pathPart="toys")
    assert toys["path"] == "/pets/{petId}/toys"
    paths = _paths(apigw, api["id"])
    assert set(paths) == {"/", "/pets", "/pets/{petId}", "/pets/{petId}/toys"}
    assert paths["/pets/{petId}/toys"]["id"] == toys["id"]


def test_create_resource_allowed_characters(apigw, api):
    # a-zA-Z0-9._- plus ':' (moto#6148: AWS accepts colons), greedy {x+}.
    for part in ("a.b_c-D9", "v1:batch", "{proxy+}"):
        resp = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart=part)
        assert resp["pathPart"] == part
        assert resp["path"] == "/" + part


def test_get_resource(apigw, api):
    created = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    got = apigw.get_resource(restApiId=api["id"], resourceId=created["id"])
    assert status_of(got) == 200
    assert got["id"] == created["id"]
    assert got["path"] == "/pets"
    assert got["pathPart"] == "pets"
    assert got["parentId"] == api["rootResourceId"]


def test_get_root_resource(apigw, api):
    got = apigw.get_resource(restApiId=api["id"], resourceId=api["rootResourceId"])
    assert got["path"] == "/"
    assert "pathPart" not in got
    assert "parentId" not in got


def test_get_resource_unknown(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.get_resource(restApiId=api["id"], resourceId="nosuch")
    assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")


def test_get_resources_unknown_api(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.get_resources(restApiId="abcde01234")
    assert_error(exc, "NotFoundException", 404, regex=UNKNOWN_API_MESSAGE_RE)


def test_get_resources_embed_methods(apigw, api):
    pets = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    apigw.put_method(
        restApiId=api["id"], resourceId=pets["id"], httpMethod="GET", authorizationType="NONE", apiKeyRequired=True
    )
    embedded = {r["path"]: r for r in apigw.get_resources(restApiId=api["id"], embed=["methods"])["items"]}
    method = embedded["/pets"]["resourceMethods"]["GET"]
    assert method["httpMethod"] == "GET"
    assert method["authorizationType"] == "NONE"
    assert method["apiKeyRequired"] is True
    # The root has no methods.
    assert not embedded["/"].get("resourceMethods")


def test_get_resources_lists_method_names_without_embed(apigw, api):
    # aws-cli example get-resources.rst shows "resourceMethods": {"POST": {}} without embed.
    pets = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    apigw.put_method(restApiId=api["id"], resourceId=pets["id"], httpMethod="POST", authorizationType="NONE")
    paths = _paths(apigw, api["id"])
    assert "POST" in paths["/pets"].get("resourceMethods", {})


def test_get_resources_pagination(apigw, api):
    for i in range(4):
        apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart=f"r{i}")
    pages = list(apigw.get_paginator("get_resources").paginate(restApiId=api["id"], PaginationConfig={"PageSize": 2}))
    seen = [r["id"] for p in pages for r in p.get("items", [])]
    assert len(seen) == len(set(seen)) == 5
    assert len(pages) == 3


def test_create_resource_duplicate_path_part(apigw, api):
    apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    with pytest.raises(ClientError) as exc:
        apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    assert_error(exc, "ConflictException", 409,
                 message="Another resource with the same parent already has this name: pets")


def test_same_path_part_under_different_parents_is_fine(apigw, api):
    a = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="a")
    b = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="b")
    apigw.create_resource(restApiId=api["id"], parentId=a["id"], pathPart="items")
    resp = apigw.create_resource(restApiId=api["id"], parentId=b["id"], pathPart="items")
    assert resp["path"] == "/b/items"


def test_create_resource_sibling_variables(apigw, api):
    apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{a}")
    with pytest.raises(ClientError) as exc:
        apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{b}")
    # AWS: "A sibling ({proxy+}) of this resource already has a variable path part -- only one is allowed"
    assert_error(exc, "BadRequestException", 400, contains="already has a variable path part")


def test_create_resource_sibling_of_greedy(apigw, api):
    apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    with pytest.raises(ClientError) as exc:
        apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{id}")
    assert_error(exc, "BadRequestException", 400,
                 message="A sibling ({proxy+}) of this resource already has a variable path part -- only one is allowed")


def test_static_sibling_of_variable_is_fine(apigw, api):
    apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    resp = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="static")
    assert resp["path"] == "/static"


def test_create_child_of_greedy(apigw, api):
    proxy = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    for part in ("child", "{child}"):
        with pytest.raises(ClientError) as exc:
            apigw.create_resource(restApiId=api["id"], parentId=proxy["id"], pathPart=part)
        assert_error(exc, "BadRequestException", 400,
                     message="Cannot create a child of a resource with a greedy path variable: {proxy+}")


@pytest.mark.parametrize("part", ["bad part", "\\leads", "a/b", "pets?", "{unclosed", "a{b}"])
def test_create_resource_invalid_path_part(apigw, api, part):
    with pytest.raises(ClientError) as exc:
        apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart=part)
    # AWS: "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and
    # the end ..." (claudiajs/claudia#11, serverless/components#319; newer text appends
    # "and an optional plus sign before the closing brace").
    assert_error(exc, "BadRequestException", 400)


def test_create_resource_unknown_parent(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.create_resource(restApiId=api["id"], parentId="nosuch", pathPart="pets")
    assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")


def test_create_resource_unknown_api(apigw):
    with pytest.raises(ClientError) as exc:
        apigw.create_resource(restApiId="abcde01234", parentId="nosuch", pathPart="pets")
    assert_error(exc, "NotFoundException", 404)


def test_update_resource_path_part(apigw, api):
    pets = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    child = apigw.create_resource(restApiId=api["id"], parentId=pets["id"], pathPart="{petId}")
    resp = apigw.update_resource(
        restApiId=api["id"], resourceId=pets["id"],
        patchOperations=[{"op": "replace", "path": "/pathPart", "value": "dogs"}],
    )
    assert status_of(resp) == 200
    assert resp["pathPart"] == "dogs"
    assert resp["path"] == "/dogs"
    # Descendant paths follow.
    assert apigw.get_resource(restApiId=api["id"], resourceId=child["id"])["path"] == "/dogs/{petId}"
    assert set(_paths(apigw, api["id"])) == {"/", "/dogs", "/dogs/{petId}"}


def test_update_resource_parent(apigw, api):
    a = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="a")
    b = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="b")
    leaf = apigw.create_resource(restApiId=api["id"], parentId=a["id"], pathPart="leaf")
    resp = apigw.update_resource(
        restApiId=api["id"], resourceId=leaf["id"],
        patchOperations=[{"op": "replace", "path": "/parentId", "value": b["id"]}],
    )
    assert resp["parentId"] == b["id"]
    assert resp["path"] == "/b/leaf"
    assert apigw.get_resource(restApiId=api["id"], resourceId=leaf["id"])["path"] == "/b/leaf"


def test_update_resource_cycle(apigw, api):
    a = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="a")
    b = apigw.create_resource(restApiId=api["id"], parentId=a["id"], pathPart="b")
    with pytest.raises(ClientError) as exc:
        apigw.update_resource(
            restApiId=api["id"], resourceId=a["id"],
            patchOperations=[{"op": "replace", "path": "/parentId", "value": b["id"]}],
        )
    assert_error(exc, "BadRequestException", 400, message="Resources cannot be cyclical.")


def test_update_resource_conflicting_name(apigw, api):
    apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    other = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="cats")
    with pytest.raises(ClientError) as exc:
        apigw.update_resource(
            restApiId=api["id"], resourceId=other["id"],
            patchOperations=[{"op": "replace", "path": "/pathPart", "value": "pets"}],
        )
    assert_error(exc, "ConflictException", 409,
                 message="Another resource with the same parent already has this name: pets")


def test_update_root_resource_path_part(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.update_resource(
            restApiId=api["id"], resourceId=api["rootResourceId"],
            patchOperations=[{"op": "replace", "path": "/pathPart", "value": "x"}],
        )
    assert_error(exc, "BadRequestException", 400, message="Root resource cannot update its pathPart.")


def test_update_resource_unsupported_path(apigw, api):
    pets = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    with pytest.raises(ClientError) as exc:
        apigw.update_resource(
            restApiId=api["id"], resourceId=pets["id"],
            patchOperations=[{"op": "replace", "path": "/invalid", "value": "x"}],
        )
    # AWS: "Invalid patch path  '/invalid' specified for op 'replace'. Must be one of: [/parentId, /pathPart]"
    assert_error(exc, "BadRequestException", 400, contains="Invalid patch path")


def test_update_resource_unsupported_op(apigw, api):
    pets = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    with pytest.raises(ClientError) as exc:
        apigw.update_resource(
            restApiId=api["id"], resourceId=pets["id"],
            patchOperations=[{"op": "remove", "path": "/pathPart"}],
        )
    # AWS: "Invalid patch path  '/pathPart' specified for op 'remove'. Please choose supported operations"
    assert_error(exc, "BadRequestException", 400, contains="Invalid patch path")


def test_update_resource_unknown(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.update_resource(
            restApiId=api["id"], resourceId="nosuch",
            patchOperations=[{"op": "replace", "path": "/pathPart", "value": "x"}],
        )
    assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")


def test_update_resource_unknown_parent(apigw, api):
    pets = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    with pytest.raises(ClientError) as exc:
        apigw.update_resource(
            restApiId=api["id"], resourceId=pets["id"],
            patchOperations=[{"op": "replace", "path": "/parentId", "value": "nosuch"}],
        )
    assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")


def test_delete_resource_subtree(apigw, api):
    pets = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    pet = apigw.create_resource(restApiId=api["id"], parentId=pets["id"], pathPart="{petId}")
    toys = apigw.create_resource(restApiId=api["id"], parentId=pet["id"], pathPart="toys")
    apigw.put_method(restApiId=api["id"], resourceId=toys["id"], httpMethod="GET", authorizationType="NONE")
    keep = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="keep")

    resp = apigw.delete_resource(restApiId=api["id"], resourceId=pets["id"])
    assert status_of(resp) == 202
    for gone in (pets, pet, toys):
        with pytest.raises(ClientError) as exc:
            apigw.get_resource(restApiId=api["id"], resourceId=gone["id"])
        assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")
    assert set(_paths(apigw, api["id"])) == {"/", "/keep"}
    assert apigw.get_resource(restApiId=api["id"], resourceId=keep["id"])["path"] == "/keep"
    # The name is free again.
    again = apigw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="pets")
    assert again["path"] == "/pets"


def test_delete_resource_unknown(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.delete_resource(restApiId=api["id"], resourceId="nosuch")
    assert_error(exc, "NotFoundException", 404, message="Invalid Resource identifier specified")


def test_delete_root_resource_is_refused(apigw, api):
    with pytest.raises(ClientError) as exc:
        apigw.delete_resource(restApiId=api["id"], resourceId=api["rootResourceId"])
    # AWS refuses to delete the root ("Cannot delete root resource"?); code only.
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403, 404, 409)
    assert apigw.get_resource(restApiId=api["id"], resourceId=api["rootResourceId"])["path"] == "/"


def test_resources_are_per_api(apigw):
    a = apigw.create_rest_api(name="a")
    b = apigw.create_rest_api(name="b")
    ra = apigw.create_resource(restApiId=a["id"], parentId=a["rootResourceId"], pathPart="only-in-a")
    with pytest.raises(ClientError) as exc:
        apigw.get_resource(restApiId=b["id"], resourceId=ra["id"])
    assert_error(exc, "NotFoundException", 404)
    assert set(_paths(apigw, b["id"])) == {"/"}
