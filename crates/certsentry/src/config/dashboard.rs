//! Dashboard sign-in settings beside passwords: the trusted-header mode for
//! installs behind an authenticating proxy.

use serde::Deserialize;

/// `serve`'s dashboard flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DashboardArgs {
    /// Sign people in by this request header (for example `X-Forwarded-Email`), set by an
    /// authenticating proxy; honoured only from --trusted-proxies.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_TRUSTED_HEADER",
        value_name = "HEADER"
    )]
    pub trusted_header: Option<String>,
    /// Addresses or CIDR ranges of the proxies allowed to set --trusted-header, comma-separated.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_TRUSTED_PROXIES",
        value_name = "LIST"
    )]
    pub trusted_proxies: Option<String>,
    /// The client id of a GitHub OAuth app: offers "Sign in with GitHub" (with --github-client-secret).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_GITHUB_CLIENT_ID",
        value_name = "ID"
    )]
    pub github_client_id: Option<String>,
    /// The GitHub OAuth app's client secret.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_GITHUB_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub github_client_secret: Option<String>,
    /// GitHub's web address, for GitHub Enterprise [default: https://github.com].
    #[arg(long, global = true, env = "CERTSENTRY_GITHUB_URL", value_name = "URL")]
    pub github_url: Option<String>,
    /// GitHub's API address, for GitHub Enterprise [default: https://api.github.com].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_GITHUB_API_URL",
        value_name = "URL"
    )]
    pub github_api_url: Option<String>,
    /// An OpenID Connect provider's issuer URL: offers single sign-on (with the client id and secret).
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_OIDC_ISSUER",
        value_name = "URL"
    )]
    pub oidc_issuer: Option<String>,
    /// The client id registered with the OpenID Connect provider.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_OIDC_CLIENT_ID",
        value_name = "ID"
    )]
    pub oidc_client_id: Option<String>,
    /// The client secret registered with the OpenID Connect provider.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_OIDC_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<String>,
    /// New people whose verified email is in this domain join with --oidc-default-role; without it, only existing users sign in.
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_OIDC_ALLOWED_DOMAIN",
        value_name = "DOMAIN"
    )]
    pub oidc_allowed_domain: Option<String>,
    /// The role of people who join by single sign-on [default: viewer].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_OIDC_DEFAULT_ROLE",
        value_name = "ROLE"
    )]
    pub oidc_default_role: Option<String>,
    /// The organization people join by single sign-on [default: the `default` organization].
    #[arg(
        long,
        global = true,
        env = "CERTSENTRY_OIDC_ORG",
        value_name = "ORG_ID"
    )]
    pub oidc_org: Option<String>,
}

/// Resolves single sign-on: issuer, client id and secret together, or none.
pub fn oidc(
    args: &DashboardArgs,
) -> anyhow::Result<Option<certsentry_web::dashboard::oidc::OidcSignIn>> {
    match (
        &args.oidc_issuer,
        &args.oidc_client_id,
        &args.oidc_client_secret,
    ) {
        (None, None, None) => Ok(None),
        (Some(issuer), Some(client_id), Some(client_secret)) => {
            let role = args.oidc_default_role.as_deref().unwrap_or("viewer");
            let default_role = certsentry_domain::people::Role::parse(role).ok_or_else(|| {
                anyhow::anyhow!(
                    "--oidc-default-role {role:?}: expected owner, admin, member or viewer"
                )
            })?;
            Ok(Some(certsentry_web::dashboard::oidc::OidcSignIn {
                issuer: issuer.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                allowed_domain: args.oidc_allowed_domain.clone(),
                default_role,
                org: args
                    .oidc_org
                    .clone()
                    .map(certsentry_domain::OrgId::from_string),
                metadata: Default::default(),
            }))
        }
        _ => anyhow::bail!("--oidc-issuer, --oidc-client-id and --oidc-client-secret go together"),
    }
}

/// Resolves GitHub sign-in: the client id and secret together, or neither.
pub fn github(
    args: &DashboardArgs,
) -> anyhow::Result<Option<certsentry_web::dashboard::github::GithubSignIn>> {
    match (&args.github_client_id, &args.github_client_secret) {
        (None, None) => Ok(None),
        (Some(client_id), Some(client_secret)) => {
            Ok(Some(certsentry_web::dashboard::github::GithubSignIn {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                web_url: args
                    .github_url
                    .clone()
                    .unwrap_or_else(|| "https://github.com".into()),
                api_url: args
                    .github_api_url
                    .clone()
                    .unwrap_or_else(|| "https://api.github.com".into()),
            }))
        }
        _ => anyhow::bail!("--github-client-id and --github-client-secret go together"),
    }
}

/// The TOML file's keys for the same.
#[derive(Debug, Default, Deserialize)]
pub struct DashboardFile {
    pub trusted_header: Option<String>,
    pub trusted_proxies: Option<String>,
}

/// Resolves the trusted-header mode: both settings or neither.
pub fn trusted_header(
    args: &DashboardArgs,
    file: &DashboardFile,
) -> anyhow::Result<Option<certsentry_web::TrustedHeader>> {
    let header = args.trusted_header.clone().or(file.trusted_header.clone());
    let proxies = args
        .trusted_proxies
        .clone()
        .or(file.trusted_proxies.clone());
    match (header, proxies) {
        (None, None) => Ok(None),
        (Some(header), Some(proxies)) => {
            let proxies: Vec<&str> = proxies
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            certsentry_web::TrustedHeader::new(&header, &proxies)
                .map(Some)
                .map_err(|e| anyhow::anyhow!(e))
        }
        (Some(_), None) => anyhow::bail!(
            "--trusted-header needs --trusted-proxies: the header is believed only from them"
        ),
        (None, Some(_)) => anyhow::bail!("--trusted-proxies is only used with --trusted-header"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(header: Option<&str>, proxies: Option<&str>) -> DashboardArgs {
        DashboardArgs {
            trusted_header: header.map(str::to_string),
            trusted_proxies: proxies.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn the_header_needs_its_proxies_and_both_must_parse() {
        let file = DashboardFile::default();
        assert!(trusted_header(&args(None, None), &file).unwrap().is_none());
        assert!(trusted_header(&args(Some("X-Forwarded-Email"), None), &file).is_err());
        assert!(trusted_header(&args(None, Some("10.0.0.1")), &file).is_err());
        let bad = trusted_header(
            &args(Some("X-Forwarded-Email"), Some("10.0.0.1, nonsense")),
            &file,
        );
        assert!(bad.unwrap_err().to_string().contains("nonsense"));
        let good = trusted_header(
            &args(Some("X-Forwarded-Email"), Some("10.0.0.1, 192.168.0.0/16")),
            &file,
        )
        .unwrap()
        .unwrap();
        assert_eq!(good.proxies.len(), 2);
        assert!(good.proxies[1].contains(&"192.168.4.2".parse::<std::net::IpAddr>().unwrap()));
    }
}
