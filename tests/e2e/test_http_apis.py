"""The `apigatewayv2` management API for HTTP APIs, driven with boto3: APIs, quick create,
routes, integrations, stages, deployments, auto-deploy, authorizers, tags, pagination and
errors, as AWS answers them."""

from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError

from dataplane_support import backend, call, poll  # noqa: F401
from http_api_support import host_url, v2  # noqa: F401


def code_of(exc) -> str:
    return exc.value.response["Error"]["Code"]


def status_of(exc) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_get_update_delete_api(v2, apigw):
    api = v2.create_api(Name="pets", ProtocolType="HTTP", Description="d",
                        Tags={"team": "a"})
    assert api["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert len(api["ApiId"]) == 10
    assert api["ProtocolType"] == "HTTP"
    assert api["RouteSelectionExpression"] == "$request.method $request.path"
    assert api["ApiKeySelectionExpression"] == "$request.header.x-api-key"
    assert isinstance(api["CreatedDate"], datetime.datetime)
    assert api["ApiEndpoint"].startswith(f"http://{api['ApiId']}.execute-api.localhost:")
    assert api["Tags"] == {"team": "a"}
    assert api["DisableExecuteApiEndpoint"] is False

    got = v2.get_api(ApiId=api["ApiId"])
    assert got["Name"] == "pets" and got["Description"] == "d"

    updated = v2.update_api(ApiId=api["ApiId"], Name="cats",
                            CorsConfiguration={"AllowOrigins": ["https://a.example"]})
    assert updated["Name"] == "cats" and updated["Description"] == "d"
    assert updated["CorsConfiguration"] == {"AllowOrigins": ["https://a.example"]}
    v2.delete_cors_configuration(ApiId=api["ApiId"])
    assert "CorsConfiguration" not in v2.get_api(ApiId=api["ApiId"])

    # REST and HTTP APIs share ids but not kinds.
    with pytest.raises(ClientError) as exc:
        apigw.get_rest_api(restApiId=api["ApiId"])
    assert code_of(exc) == "NotFoundException"
    assert api["ApiId"] not in [a["id"] for a in apigw.get_rest_apis()["items"]]

    v2.delete_api(ApiId=api["ApiId"])
    with pytest.raises(ClientError) as exc:
        v2.get_api(ApiId=api["ApiId"])
    assert code_of(exc) == "NotFoundException" and status_of(exc) == 404


def test_bad_apis_are_refused(v2):
    for kwargs in (
        {"Name": "x", "ProtocolType": "GRPC"},
        {"Name": "", "ProtocolType": "HTTP"},
        {"Name": "x", "ProtocolType": "HTTP",
         "CorsConfiguration": {"AllowOrigins": ["*"], "AllowCredentials": True}},
        {"Name": "x", "ProtocolType": "HTTP", "RouteKey": "GET /a"},
    ):
        with pytest.raises(ClientError) as exc:
            v2.create_api(**kwargs)
        assert status_of(exc) == 400, kwargs


def test_get_apis_pages_with_next_token(v2):
    ids = {v2.create_api(Name=f"api{i}", ProtocolType="HTTP")["ApiId"] for i in range(5)}
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"MaxResults": "2"}
        if token:
            kwargs["NextToken"] = token
        page = v2.get_apis(**kwargs)
        pages += 1
        assert len(page["Items"]) <= 2
        seen += [a["ApiId"] for a in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and set(seen) == ids and len(seen) == 5
    paginator = v2.get_paginator("get_apis")
    assert {a["ApiId"] for p in paginator.paginate(PaginationConfig={"PageSize": 2})
            for a in p["Items"]} == ids


def test_quick_create_makes_a_served_default_stage(v2, endpoint, backend):
    api = v2.create_api(Name="quick", ProtocolType="HTTP", Target=backend.url + "/quick")
    api_id = api["ApiId"]
    routes = v2.get_routes(ApiId=api_id)["Items"]
    assert [r["RouteKey"] for r in routes] == ["$default"]
    assert routes[0]["ApiGatewayManaged"] is True
    integration = v2.get_integrations(ApiId=api_id)["Items"][0]
    assert integration["IntegrationType"] == "HTTP_PROXY"
    assert integration["IntegrationMethod"] == "ANY"
    assert integration["PayloadFormatVersion"] == "1.0"
    assert routes[0]["Target"] == f"integrations/{integration['IntegrationId']}"
    stage = v2.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AutoDeploy"] is True and stage["ApiGatewayManaged"] is True
    assert stage["DeploymentId"]
    deployments = v2.get_deployments(ApiId=api_id)["Items"]
    assert [d["DeploymentId"] for d in deployments] == [stage["DeploymentId"]]
    assert deployments[0]["AutoDeployed"] is True
    assert deployments[0]["DeploymentStatus"] == "DEPLOYED"

    url, headers = host_url(endpoint, api_id, "/anything?x=1")
    resp = poll("POST", url, 200, headers=headers, data=b"hi")
    echoed = resp.json()
    assert echoed["method"] == "POST" and echoed["path"] == "/quick"
    assert echoed["query"] == "x=1" and echoed["body"] == "hi"


def test_routes_and_integrations(v2):
    api_id = v2.create_api(Name="r", ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationUri="http://127.0.0.1:9/x",
        IntegrationMethod="GET", TimeoutInMillis=5000,
        RequestParameters={"append:header.x-a": "$request.header.x-b"},
        ResponseParameters={"404": {"overwrite:statuscode": "200"}})
    assert integration["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert integration["ConnectionType"] == "INTERNET"
    assert integration["TimeoutInMillis"] == 5000
    assert integration["PayloadFormatVersion"] == "1.0"
    iid = integration["IntegrationId"]

    route = v2.create_route(ApiId=api_id, RouteKey="GET /pets/{id}", Target=f"integrations/{iid}")
    assert route["AuthorizationType"] == "NONE" and route["ApiKeyRequired"] is False
    got = v2.get_route(ApiId=api_id, RouteId=route["RouteId"])
    assert got["RouteKey"] == "GET /pets/{id}"

    with pytest.raises(ClientError) as exc:
        v2.create_route(ApiId=api_id, RouteKey="GET /pets/{id}")
    assert code_of(exc) == "ConflictException"
    with pytest.raises(ClientError) as exc:
        v2.create_route(ApiId=api_id, RouteKey="GET /x", Target="integrations/nope")
    assert code_of(exc) == "NotFoundException"
    for key in ("FETCH /a", "GET a", "GET /{proxy+}/x"):
        with pytest.raises(ClientError) as exc:
            v2.create_route(ApiId=api_id, RouteKey=key)
        assert code_of(exc) == "BadRequestException", key
    for kwargs in (
        {"IntegrationType": "MOCK"},
        {"IntegrationType": "AWS_PROXY", "IntegrationUri": "arn:aws:lambda:us-east-1:000000000000:function:f"},
        {"IntegrationType": "HTTP_PROXY", "IntegrationUri": "http://x", "IntegrationMethod": "GET",
         "TimeoutInMillis": 30001},
        {"IntegrationType": "HTTP_PROXY", "IntegrationUri": "http://x", "IntegrationMethod": "GET",
         "RequestParameters": {"rename:header.a": "b"}},
    ):
        with pytest.raises(ClientError) as exc:
            v2.create_integration(ApiId=api_id, **kwargs)
        assert code_of(exc) == "BadRequestException", kwargs

    updated = v2.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="ANY /{proxy+}")
    assert updated["RouteKey"] == "ANY /{proxy+}" and updated["Target"] == f"integrations/{iid}"
    assert v2.update_integration(ApiId=api_id, IntegrationId=iid,
                                 TimeoutInMillis=100)["TimeoutInMillis"] == 100
    assert [r["RouteId"] for r in v2.get_routes(ApiId=api_id)["Items"]] == [route["RouteId"]]
    v2.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    with pytest.raises(ClientError) as exc:
        v2.get_route(ApiId=api_id, RouteId=route["RouteId"])
    assert code_of(exc) == "NotFoundException"
    v2.delete_integration(ApiId=api_id, IntegrationId=iid)
    assert v2.get_integrations(ApiId=api_id)["Items"] == []


def test_stages_and_deployments(v2):
    api_id = v2.create_api(Name="s", ProtocolType="HTTP")["ApiId"]
    iid = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY",
                                IntegrationUri="http://127.0.0.1:9", IntegrationMethod="ANY")["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /a", Target=f"integrations/{iid}")
    deployment = v2.create_deployment(ApiId=api_id, Description="first")
    assert deployment["DeploymentStatus"] == "DEPLOYED" and deployment["AutoDeployed"] is False
    stage = v2.create_stage(ApiId=api_id, StageName="dev", DeploymentId=deployment["DeploymentId"],
                            StageVariables={"a": "1", "b": "2"},
                            DefaultRouteSettings={"ThrottlingBurstLimit": 5, "ThrottlingRateLimit": 10.0})
    assert stage["StageName"] == "dev" and stage["AutoDeploy"] is False
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 5
    assert isinstance(stage["LastUpdatedDate"], datetime.datetime)
    with pytest.raises(ClientError) as exc:
        v2.create_stage(ApiId=api_id, StageName="dev")
    assert code_of(exc) == "ConflictException"
    with pytest.raises(ClientError) as exc:
        v2.create_stage(ApiId=api_id, StageName="other", DeploymentId="nope")
    assert code_of(exc) == "NotFoundException"

    updated = v2.update_stage(ApiId=api_id, StageName="dev", StageVariables={"a": "", "c": "3"},
                              RouteSettings={"GET /a": {"ThrottlingBurstLimit": 1}})
    assert updated["StageVariables"] == {"b": "2", "c": "3"}
    assert updated["RouteSettings"]["GET /a"]["ThrottlingBurstLimit"] == 1
    v2.delete_route_settings(ApiId=api_id, StageName="dev", RouteKey="GET /a")
    assert v2.get_stage(ApiId=api_id, StageName="dev").get("RouteSettings", {}) == {}

    second = v2.create_deployment(ApiId=api_id, StageName="dev")
    assert v2.get_stage(ApiId=api_id, StageName="dev")["DeploymentId"] == second["DeploymentId"]
    with pytest.raises(ClientError) as exc:
        v2.delete_deployment(ApiId=api_id, DeploymentId=second["DeploymentId"])
    assert code_of(exc) == "BadRequestException"
    v2.delete_deployment(ApiId=api_id, DeploymentId=deployment["DeploymentId"])
    assert [d["DeploymentId"] for d in v2.get_deployments(ApiId=api_id)["Items"]] == [second["DeploymentId"]]
    v2.reset_authorizers_cache(ApiId=api_id, StageName="dev")
    v2.delete_stage(ApiId=api_id, StageName="dev")
    with pytest.raises(ClientError) as exc:
        v2.get_stage(ApiId=api_id, StageName="dev")
    assert code_of(exc) == "NotFoundException"


def test_auto_deploy_follows_every_change(v2, endpoint, backend):
    api_id = v2.create_api(Name="auto", ProtocolType="HTTP")["ApiId"]
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    iid = v2.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY",
                                IntegrationUri=backend.url + "/one", IntegrationMethod="ANY")["IntegrationId"]
    url, headers = host_url(endpoint, api_id, "/thing")
    assert call("GET", url, headers=headers).status_code == 404
    v2.create_route(ApiId=api_id, RouteKey="GET /thing", Target=f"integrations/{iid}")
    assert poll("GET", url, 200, headers=headers).json()["path"] == "/one"
    v2.update_integration(ApiId=api_id, IntegrationId=iid, IntegrationUri=backend.url + "/two")
    poll("GET", url, lambda r: r.status_code == 200 and r.json()["path"] == "/two", headers=headers)
    deployments = v2.get_deployments(ApiId=api_id)["Items"]
    assert len(deployments) >= 3 and all(d["AutoDeployed"] for d in deployments)
    stage = v2.get_stage(ApiId=api_id, StageName="$default")
    assert stage["DeploymentId"] == deployments[-1]["DeploymentId"]
    assert "Successfully deployed" in stage["LastDeploymentStatusMessage"]
    with pytest.raises(ClientError) as exc:
        v2.create_deployment(ApiId=api_id, StageName="$default")
    assert code_of(exc) == "BadRequestException"


def test_authorizers(v2):
    api_id = v2.create_api(Name="auth", ProtocolType="HTTP")["ApiId"]
    jwt = v2.create_authorizer(ApiId=api_id, Name="jwt", AuthorizerType="JWT",
                               IdentitySource=["$request.header.Authorization"],
                               JwtConfiguration={"Issuer": "https://issuer.example", "Audience": ["a"]})
    assert jwt["AuthorizerType"] == "JWT" and jwt["JwtConfiguration"]["Audience"] == ["a"]
    lam = v2.create_authorizer(ApiId=api_id, Name="lam", AuthorizerType="REQUEST",
                               IdentitySource=["$request.header.x-token"],
                               AuthorizerUri="arn:aws:lambda:us-east-1:000000000000:function:f",
                               AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True,
                               AuthorizerResultTtlInSeconds=60)
    assert lam["AuthorizerResultTtlInSeconds"] == 60
    with pytest.raises(ClientError) as exc:
        v2.create_authorizer(ApiId=api_id, Name="bad", AuthorizerType="JWT",
                             IdentitySource=["$request.header.Authorization"])
    assert code_of(exc) == "BadRequestException"
    route = v2.create_route(ApiId=api_id, RouteKey="GET /a", AuthorizationType="JWT",
                            AuthorizerId=jwt["AuthorizerId"], AuthorizationScopes=["read"])
    with pytest.raises(ClientError) as exc:
        v2.create_route(ApiId=api_id, RouteKey="GET /b", AuthorizationType="CUSTOM",
                        AuthorizerId=jwt["AuthorizerId"])
    assert code_of(exc) == "BadRequestException"
    with pytest.raises(ClientError) as exc:
        v2.delete_authorizer(ApiId=api_id, AuthorizerId=jwt["AuthorizerId"])
    assert code_of(exc) == "BadRequestException"
    v2.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    v2.delete_authorizer(ApiId=api_id, AuthorizerId=jwt["AuthorizerId"])
    assert [a["Name"] for a in v2.get_authorizers(ApiId=api_id)["Items"]] == ["lam"]


def test_tags(v2):
    api_id = v2.create_api(Name="t", ProtocolType="HTTP")["ApiId"]
    arn = f"arn:aws:apigateway:us-east-1::/apis/{api_id}"
    v2.tag_resource(ResourceArn=arn, Tags={"a": "1", "b": "2"})
    assert v2.get_tags(ResourceArn=arn)["Tags"] == {"a": "1", "b": "2"}
    v2.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert v2.get_tags(ResourceArn=arn)["Tags"] == {"b": "2"}
    assert v2.get_api(ApiId=api_id)["Tags"] == {"b": "2"}
    v2.create_stage(ApiId=api_id, StageName="dev")
    stage_arn = arn + "/stages/dev"
    v2.tag_resource(ResourceArn=stage_arn, Tags={"s": "1"})
    assert v2.get_stage(ApiId=api_id, StageName="dev")["Tags"] == {"s": "1"}
    with pytest.raises(ClientError) as exc:
        v2.get_tags(ResourceArn="arn:aws:apigateway:us-east-1::/apis/nope")
    assert code_of(exc) == "NotFoundException"


def test_aws_cli_creates_and_lists_http_apis(endpoint):
    from helpers import cli_env, find_aws_cli
    import json
    import subprocess
    aws = find_aws_cli()
    if aws is None:
        pytest.skip("no AWS CLI")
    base = [aws, "--endpoint-url", endpoint, "--region", "us-east-1", "apigatewayv2"]
    out = subprocess.run(base + ["create-api", "--name", "cli", "--protocol-type", "HTTP",
                                 "--output", "json"], env=cli_env(), capture_output=True,
                         text=True, check=True)
    api = json.loads(out.stdout)
    listed = json.loads(subprocess.run(base + ["get-apis", "--output", "json"], env=cli_env(),
                                       capture_output=True, text=True, check=True).stdout)
    assert api["ApiId"] in [a["ApiId"] for a in listed["Items"]]
