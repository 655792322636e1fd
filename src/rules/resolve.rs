//! Rule resolution for one container or pod: which image rule or
//! environment decides its pull policy, and which pull secrets it wants.
//! What every planner (manifests, kustomize overlays, and next Helm values)
//! asks of the rules; no planner decides on its own.

use super::{Environment, ImageRule, Policy, Rules};

/// The policy a container should have in `env`: the first image rule that
/// matches and sets one, else the environment's; and what decided, in words.
pub fn decide_policy(
    rules: &Rules,
    env: &Environment,
    forms: Option<&[String; 2]>,
) -> (Option<Policy>, Option<String>) {
    let rule =
        forms.and_then(|forms| rules.images.iter().find(|rule| rule.policy.is_some() && rule_matches(rule, forms)));
    match (rule, env.policy) {
        (Some(rule), _) => (rule.policy, Some(describe_rule(rule))),
        (None, Some(policy)) => (Some(policy), Some(format!("environment `{}` imagePullPolicy", env.name))),
        (None, None) => (None, None),
    }
}

/// The environment's secrets plus those of every image rule that matches
/// any container, in rule order, without duplicates.
pub fn wanted_secrets(rules: &Rules, env: &Environment, images: &[Option<[String; 2]>]) -> Vec<String> {
    let mut wanted: Vec<String> = env.secrets.clone();
    for rule in &rules.images {
        if rule.secrets.is_empty() {
            continue;
        }
        if images.iter().flatten().any(|forms| rule_matches(rule, forms)) {
            for secret in &rule.secrets {
                if !wanted.contains(secret) {
                    wanted.push(secret.clone());
                }
            }
        }
    }
    wanted
}

fn rule_matches(rule: &ImageRule, forms: &[String; 2]) -> bool {
    rule.patterns.iter().any(|p| forms.iter().any(|form| p.is_match(form)))
}

fn describe_rule(rule: &ImageRule) -> String {
    let globs: Vec<String> = rule.patterns.iter().map(|p| format!("`{}`", p.text)).collect();
    format!("images[{}] match {}", rule.index, globs.join(", "))
}
