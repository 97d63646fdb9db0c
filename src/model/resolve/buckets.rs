//! `bucket` declarations: the object stores `s3://` locations are read from, each with its
//! endpoint, region and credentials. A secret key written into the file is refused: it would
//! be in every clone of the repository.

use super::*;

/// What an S3 bucket name may be: 3 to 63 lowercase letters, digits, dots and dashes.
fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl Resolver<'_> {
    pub(super) fn buckets(&mut self, runbook: &ast::Runbook) -> Vec<Bucket> {
        let mut buckets: Vec<Bucket> = Vec::new();
        for item in &runbook.items {
            let ast::Item::Bucket(bucket) = item else { continue };
            self.no_interpolation(&bucket.name, "a bucket's name");
            let name = literal_text(&bucket.name);
            if !is_bucket_name(&name) {
                self.error("E0250", bucket.name.span, format!("`{name}` is not an S3 bucket name"))
                    .help =
                    Some("a bucket name is 3 to 63 lowercase letters, digits, dots and dashes, as in `s3://orders-backups/`".into());
            }
            if let Some(first) = buckets.iter().find(|b| b.name == name) {
                self.error("E0251", bucket.name.span, format!("the bucket `{name}` is declared twice"))
                    .add_secondary(first.span, "first declared here");
                continue;
            }
            let mut settings = Vec::new();
            for setting in &bucket.settings {
                let key = setting.name.name.as_str();
                if !Bucket::SETTINGS.contains(&key) {
                    let help = suggest(key, Bucket::SETTINGS).map_or_else(
                        || format!("a bucket takes: {}", Bucket::SETTINGS.join(", ")),
                        |close| format!("did you mean `{close}`?"),
                    );
                    self.error("E0252", setting.name.span, format!("a bucket has no setting `{key}`"))
                        .help = Some(help);
                    continue;
                }
                let value = self.value(&setting.value);
                self.expect_type(&value, ParamType::String, setting.value.span(), &format!("`{key}`"));
                if key == "secret_key" && !value.vars().any(|v| matches!(v, Var::Secret(_))) {
                    self.error("E0253", setting.value.span(), "a bucket's secret key must be a `secret`")
                        .help = Some("declare `secret s3_secret = env(\"BACKUP_S3_SECRET\")` and write `secret_key = s3_secret`".into());
                }
                if key == "session_token" && !value.vars().any(|v| matches!(v, Var::Secret(_))) {
                    self.error("E0253", setting.value.span(), "a bucket's session token must be a `secret`")
                        .help = Some("declare `secret s3_token = env(\"AWS_SESSION_TOKEN\")` and write `session_token = s3_token`".into());
                }
                if key == "style" && !matches!(&value, Expr::Str(t) if matches!(t.to_string().as_str(), "path" | "virtual")) {
                    self.error("E0252", setting.value.span(), "`style` is `\"path\"` or `\"virtual\"`")
                        .help = Some(
                        "`path` (the default) for MinIO, Ceph and most S3-compatible stores; `virtual` for AWS's bucket.s3... hosts".into(),
                    );
                }
                settings.push((key.to_string(), value));
            }
            let has = |key: &str| settings.iter().any(|(n, _)| n == key);
            if !has("endpoint") {
                self.error("E0252", bucket.span, format!("the bucket `{name}` needs an `endpoint`"))
                    .help = Some("add `endpoint = \"https://s3.eu-west-1.amazonaws.com\"` (or your store's URL)".into());
            }
            if has("access_key") != has("secret_key") {
                self.error(
                    "E0252",
                    bucket.span,
                    format!("the bucket `{name}` needs both `access_key` and `secret_key`, or neither"),
                )
                .help = Some("without either, the bucket is read anonymously".into());
            }
            if has("session_token") && !has("access_key") {
                self.error(
                    "E0252",
                    bucket.span,
                    format!("the bucket `{name}` has a `session_token` but no keys"),
                )
                .help = Some(
                    "a session token (from `aws sts assume-role`, say) goes with the temporary `access_key` and `secret_key` issued with it".into(),
                );
            }
            buckets.push(Bucket {
                name,
                settings,
                span: bucket.span,
            });
        }
        buckets
    }
}

#[cfg(test)]
mod tests {
    use super::is_bucket_name;

    #[test]
    fn knows_a_bucket_name() {
        for good in ["orders-backups", "a.b.c", "abc", "backups-2026"] {
            assert!(is_bucket_name(good), "{good}");
        }
        for bad in [
            "ab",
            "Orders",
            "-orders",
            "orders-",
            "orders_backups",
            "orders/nightly",
            &"a".repeat(64),
        ] {
            assert!(!is_bucket_name(bad), "{bad}");
        }
    }
}
