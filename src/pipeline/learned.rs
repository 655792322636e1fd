//! What the file passes learn of each file for the cross-file steps
//! (ServiceAccounts that receive their pods' secrets, the warnings about
//! ServiceAccounts and secrets that are not in the repository), gathered
//! as each file is done. A file's result then need not be kept until the
//! run ends for them: most files of a large repository are counted and
//! dropped (`count_if_quiet`), so what a run keeps does not grow with it.
//!
//! Every "first" is first in path order, then in the file's order, as the
//! warnings name them, whatever order the files were learned in (deferred
//! files are learned after the others).

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::{FilePlan, ServiceAccountKey, ServiceAccountSecrets};

/// Where something was first seen: the file, its rank among the file's
/// records of that kind, and its line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct FirstSeen {
    pub path: String,
    pub rank: usize,
    pub line: usize,
}

#[derive(Debug, Default)]
pub(super) struct Learned {
    /// What each ServiceAccount must list and what it lists (first pass).
    pub accounts: ServiceAccountSecrets,
    /// The first pod that asks each ServiceAccount for secrets (first pass).
    pub first_request: BTreeMap<ServiceAccountKey, FirstSeen>,
    /// The Secrets each environment defines.
    pub defined_secrets: BTreeSet<(usize, String)>,
    /// The first use of each pull secret, by environment.
    pub first_use: BTreeMap<(usize, String), FirstSeen>,
    /// The first pod given its first secrets that stops inheriting each ServiceAccount's.
    pub first_inheritance: BTreeMap<ServiceAccountKey, FirstSeen>,
}

impl Learned {
    /// The ServiceAccounts a first-pass plan asks for and defines; files are
    /// learned in path order, which is the order of the names they add.
    /// Without `keep`, the plan forgets them: nothing after reads them.
    pub fn accounts_of(&mut self, path: &str, plan: &mut FilePlan, keep: bool) {
        for (rank, request) in plan.service_account_requests.iter().enumerate() {
            add_names(self.accounts.requested.entry(request.key.clone()).or_default(), &request.secrets);
            first(&mut self.first_request, request.key.clone(), path, rank, request.line);
        }
        for account in &plan.service_accounts {
            add_names(self.accounts.listed.entry(account.key.clone()).or_default(), &account.secrets);
        }
        if !keep {
            plan.service_account_requests = Vec::new();
            plan.service_accounts = Vec::new();
        }
    }

    /// The secrets a final plan defines and uses, and the ServiceAccounts
    /// its pods stop inheriting from. Without `keep`, the plan forgets them.
    pub fn secrets_of(&mut self, path: &str, plan: &mut FilePlan, keep: bool) {
        self.defined_secrets.extend(plan.defined_secrets.iter().cloned());
        for (rank, used) in plan.secret_uses.iter().enumerate() {
            first(&mut self.first_use, (used.environment, used.name.clone()), path, rank, used.line);
        }
        for (rank, inheritance) in plan.inheritances.iter().enumerate() {
            first(&mut self.first_inheritance, inheritance.key.clone(), path, rank, inheritance.line);
        }
        if !keep {
            plan.defined_secrets = Vec::new();
            plan.secret_uses = Vec::new();
            plan.inheritances = Vec::new();
        }
    }
}

fn add_names(to: &mut Vec<String>, names: &[String]) {
    for name in names {
        if !to.contains(name) {
            to.push(name.clone());
        }
    }
}

/// Records `key` as seen at `path` unless it was seen earlier in path order.
/// The path is copied only when it is recorded: most calls see a key that
/// an earlier file in path order already holds.
fn first<K: Ord>(map: &mut BTreeMap<K, FirstSeen>, key: K, path: &str, rank: usize, line: usize) {
    let seen = || FirstSeen { path: path.to_string(), rank, line };
    match map.entry(key) {
        std::collections::btree_map::Entry::Vacant(entry) => {
            entry.insert(seen());
        }
        std::collections::btree_map::Entry::Occupied(mut entry) => {
            let held = entry.get();
            if (path, rank, line) < (held.path.as_str(), held.rank, held.line) {
                entry.insert(seen());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_in_path_order_wins_whatever_order_files_are_learned_in() {
        let mut map = BTreeMap::new();
        first(&mut map, "k", "b.yaml", 0, 9);
        first(&mut map, "k", "a.yaml", 2, 30);
        first(&mut map, "k", "a.yaml", 1, 20);
        first(&mut map, "k", "c.yaml", 0, 1);
        assert_eq!(map["k"], FirstSeen { path: "a.yaml".to_string(), rank: 1, line: 20 });
    }
}
