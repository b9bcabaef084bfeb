//! `$context` variables by name, resolved once (when an access-log format or a mapping is
//! compiled) so that requests read them without matching names.

/// A `$context` variable (the name without `$context.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variable {
    RequestId,
    ExtendedRequestId,
    ApiId,
    Stage,
    DeploymentId,
    AccountId,
    ResourceId,
    ResourcePath,
    HttpMethod,
    /// `path`: the full path as the client sent it.
    Path,
    Protocol,
    DomainName,
    DomainPrefix,
    RequestTime,
    RequestTimeEpoch,
    XrayTraceId,
    SourceIp,
    UserAgent,
    ApiKey,
    ApiKeyId,
    /// `identity.accountId`, `caller`, `accessKey`, `user`, `userArn` of a SigV4 caller.
    IamAccountId,
    IamCaller,
    IamAccessKey,
    IamUser,
    IamUserArn,
    /// `authorizer.principalId`.
    PrincipalId,
    /// `authorizer.claims.NAME`: a claim of a JWT or Cognito authorizer.
    Claim(Box<str>),
    /// `authorizer.KEY`: a key of a Lambda authorizer's context.
    AuthorizerContext(Box<str>),
    // Known only once the response is out (see [`Variable::is_final`]).
    Status,
    ResponseLength,
    ResponseLatency,
    /// `integrationLatency`, `integration.latency`.
    IntegrationLatency,
    /// `integrationStatus`, `integration.integrationStatus`, `integration.status`.
    IntegrationStatus,
    ErrorMessage,
    /// `error.messageString`: the message in double quotes.
    ErrorMessageString,
    ErrorResponseType,
    /// Any other name: never has a value.
    Unknown,
}

impl Variable {
    /// The variable named `name` (without `$context.`).
    pub fn parse(name: &str) -> Self {
        match name {
            "requestId" => Self::RequestId,
            "extendedRequestId" => Self::ExtendedRequestId,
            "apiId" => Self::ApiId,
            "stage" => Self::Stage,
            "deploymentId" => Self::DeploymentId,
            "accountId" => Self::AccountId,
            "resourceId" => Self::ResourceId,
            "resourcePath" => Self::ResourcePath,
            "httpMethod" => Self::HttpMethod,
            "path" => Self::Path,
            "protocol" => Self::Protocol,
            "domainName" => Self::DomainName,
            "domainPrefix" => Self::DomainPrefix,
            "requestTime" => Self::RequestTime,
            "requestTimeEpoch" => Self::RequestTimeEpoch,
            "xrayTraceId" => Self::XrayTraceId,
            "identity.sourceIp" => Self::SourceIp,
            "identity.userAgent" => Self::UserAgent,
            "identity.apiKey" => Self::ApiKey,
            "identity.apiKeyId" => Self::ApiKeyId,
            "identity.accountId" => Self::IamAccountId,
            "identity.caller" => Self::IamCaller,
            "identity.accessKey" => Self::IamAccessKey,
            "identity.user" => Self::IamUser,
            "identity.userArn" => Self::IamUserArn,
            "authorizer.principalId" => Self::PrincipalId,
            "status" => Self::Status,
            "responseLength" => Self::ResponseLength,
            "responseLatency" => Self::ResponseLatency,
            "integrationLatency" | "integration.latency" => Self::IntegrationLatency,
            "integrationStatus" | "integration.integrationStatus" | "integration.status" => {
                Self::IntegrationStatus
            }
            "error.message" => Self::ErrorMessage,
            "error.messageString" => Self::ErrorMessageString,
            "error.responseType" => Self::ErrorResponseType,
            other => match other.strip_prefix("authorizer.") {
                Some(key) => match key.strip_prefix("claims.") {
                    Some(claim) => Self::Claim(claim.into()),
                    None => Self::AuthorizerContext(key.into()),
                },
                None => Self::Unknown,
            },
        }
    }

    /// Whether the variable is known only once the response is out (status, lengths,
    /// latencies, the error): its value is written last.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Status
                | Self::ResponseLength
                | Self::ResponseLatency
                | Self::IntegrationLatency
                | Self::IntegrationStatus
                | Self::ErrorMessage
                | Self::ErrorMessageString
                | Self::ErrorResponseType
        )
    }

    /// Whether the value never holds a line break, so a log line need not check it: ids,
    /// numbers, times, addresses, the method and protocol, and what comes from the request
    /// line or a header (the path, the user agent, the domain), where HTTP allows none.
    pub fn is_single_line(&self) -> bool {
        matches!(
            self,
            Self::Path
                | Self::UserAgent
                | Self::DomainName
                | Self::DomainPrefix
                | Self::RequestId
                | Self::ExtendedRequestId
                | Self::ApiId
                | Self::Stage
                | Self::DeploymentId
                | Self::AccountId
                | Self::ResourceId
                | Self::HttpMethod
                | Self::Protocol
                | Self::RequestTime
                | Self::RequestTimeEpoch
                | Self::XrayTraceId
                | Self::SourceIp
                | Self::Status
                | Self::ResponseLength
                | Self::ResponseLatency
                | Self::IntegrationLatency
                | Self::IntegrationStatus
                | Self::Unknown
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_with_their_aliases() {
        assert_eq!(Variable::parse("requestId"), Variable::RequestId);
        assert_eq!(Variable::parse("identity.sourceIp"), Variable::SourceIp);
        assert_eq!(
            Variable::parse("integration.latency"),
            Variable::IntegrationLatency
        );
        assert_eq!(
            Variable::parse("integration.integrationStatus"),
            Variable::IntegrationStatus
        );
        assert_eq!(
            Variable::parse("authorizer.principalId"),
            Variable::PrincipalId
        );
        assert_eq!(
            Variable::parse("authorizer.claims.sub"),
            Variable::Claim("sub".into())
        );
        assert_eq!(
            Variable::parse("authorizer.claims"),
            Variable::AuthorizerContext("claims".into())
        );
        assert_eq!(
            Variable::parse("identity.cognitoIdentityId"),
            Variable::Unknown
        );
        assert_eq!(Variable::parse("requestid"), Variable::Unknown);
    }

    #[test]
    fn final_variables_are_the_response_ones() {
        assert!(Variable::parse("status").is_final());
        assert!(Variable::parse("error.messageString").is_final());
        assert!(!Variable::parse("requestTime").is_final());
        assert!(!Variable::parse("authorizer.x").is_final());
    }
}
