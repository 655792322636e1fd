use std::path::PathBuf;

use super::*;

fn corpus(name: &str) -> Option<Chart> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/helm-charts").join(name);
    if !dir.is_dir() {
        eprintln!("note: {} is absent; skipping", dir.display());
        return None;
    }
    Some(load(&dir).expect("the corpus chart loads"))
}

#[test]
fn dump_corpus() {
    for name in ["bitnami-nginx", "ingress-nginx", "kube-state-metrics", "prometheus-node-exporter", "prometheus-pushgateway"] {
        let Some(chart) = corpus(name) else { continue };
        let keys = analyse(&chart);
        eprintln!("=== {name}");
        for pod in &keys.pods {
            eprintln!("pod {} {:?} {:?}", pod.template, pod.at, pod.kinds);
            for c in &pod.containers {
                eprintln!("   container {} init={} {:?}", c.name, c.init, c.policy);
            }
            for s in &pod.secrets {
                eprintln!("   secrets {:?}", s);
            }
            for s in &pod.secrets_unknown {
                eprintln!("   secrets unknown {:?}", s);
            }
        }
        for a in &keys.service_accounts {
            eprintln!("sa {} {:?}", a.template, a.secrets);
        }
        eprintln!("unread {:?}", keys.unread);
        eprintln!("unknowns {:?}", keys.unknowns);
    }
}
