//! People from the command line: `certsentry user create` for scripted
//! installs.

use std::io::BufRead;

use anyhow::{Context, bail};
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::people::password::{check_password, hash_password};
use certsentry_domain::people::token::{LinkPurpose, UserLink};
use certsentry_domain::people::{Role, User, normalize_email};
use certsentry_domain::time::now_ms;
use certsentry_domain::{OrgId, UserId};
use certsentry_store::{Store, StoreError};
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user who can sign in to the dashboard, as a member of an
    /// organization. Without --password-stdin, prints a one-time
    /// set-password link (valid 7 days) as the last line.
    Create {
        #[arg(long)]
        email: String,
        /// The organization's id (`certsentry org list`).
        #[arg(long)]
        org: String,
        /// owner, admin, member or viewer.
        #[arg(long, default_value = "member")]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a one-time link (valid an hour) where the user chooses a new
    /// password, as its last line: for servers that send no email.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// List an organization's members.
    List {
        #[arg(long)]
        org: String,
    },
}

pub async fn run(store: &dyn Store, public_url: &str, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            email,
            org,
            role,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            create(
                store,
                public_url,
                &email,
                &OrgId::from_string(org),
                &role,
                password,
            )
            .await
        }
        UserCommand::ResetPassword { email } => {
            let email = normalize_email(&email)
                .map_err(|_| anyhow::anyhow!("\"{email}\" is not an email address"))?;
            let user = store
                .find_user_by_email(&email)
                .await?
                .with_context(|| format!("no user with the email {email}"))?;
            let (mut link, token) = UserLink::new(LinkPurpose::PasswordReset, now_ms());
            link.user_id = Some(user.id.clone());
            store.create_link(&link, None).await?;
            println!("Send this one-time link to {email} (valid 1 hour):");
            println!(
                "{}",
                certsentry_web::dashboard::link_url(public_url, LinkPurpose::PasswordReset, &token)
            );
            Ok(())
        }
        UserCommand::List { org } => {
            let members = store.list_members(&OrgId::from_string(org)).await?;
            println!("{:<18} {:<8} EMAIL", "ID", "ROLE");
            for member in members {
                println!(
                    "{:<18} {:<8} {}",
                    member.user_id,
                    member.role.as_str(),
                    member.email
                );
            }
            Ok(())
        }
    }
}

async fn create(
    store: &dyn Store,
    public_url: &str,
    email: &str,
    org: &OrgId,
    role: &str,
    password: Option<String>,
) -> anyhow::Result<()> {
    let email = normalize_email(email)
        .map_err(|_| anyhow::anyhow!("\"{email}\" is not an email address"))?;
    let Some(role) = Role::parse(role) else {
        bail!("unknown role \"{role}\"; expected owner, admin, member or viewer");
    };
    store
        .get_org(org)
        .await?
        .with_context(|| format!("no organization with id {org}"))?;
    let hash = match &password {
        Some(password) => {
            check_password(password).map_err(|e| {
                anyhow::anyhow!(
                    "the password {}",
                    e.get("password").unwrap_or("is not acceptable")
                )
            })?;
            Some(hash_password(password))
        }
        None => None,
    };
    let audit = |user: &UserId| {
        AuditEvent::new(
            org,
            &Actor::cli(),
            "member.join",
            "member",
            user.as_str(),
            json!({"email": email, "role": role.as_str()}),
        )
    };
    let user = match store.find_user_by_email(&email).await? {
        Some(existing) => {
            if let Some(hash) = &hash {
                store.set_password(&existing.id, hash).await?;
            }
            match store
                .add_member(org, &existing.id, role, &audit(&existing.id))
                .await
            {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => bail!("{email} is a member of {org} already"),
                Err(e) => return Err(e.into()),
            }
            println!(
                "Added the existing user {email} to {org} as {}.",
                role.as_str()
            );
            existing
        }
        None => {
            let mut user = User::new(&email);
            user.password_hash = hash.clone();
            store
                .create_user(&user, Some((org, role)), Some(&audit(&user.id)))
                .await?;
            println!(
                "Created user {email} ({}), {} of {org}.",
                user.id,
                role.as_str()
            );
            user
        }
    };
    if password.is_none() && user.password_hash.is_none() {
        let (mut link, token) = UserLink::new(LinkPurpose::SetPassword, now_ms());
        link.user_id = Some(user.id.clone());
        store.create_link(&link, None).await?;
        println!("Send this one-time link to set the password (valid 7 days):");
        println!(
            "{}",
            certsentry_web::dashboard::link_url(public_url, LinkPurpose::SetPassword, &token)
        );
    }
    Ok(())
}
