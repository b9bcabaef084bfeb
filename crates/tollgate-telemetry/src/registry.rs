//! The registry: metric families and their series, keyed by label values. Series are looked
//! up (and created) when a plan is compiled; the handles it hands out are what requests
//! record into. Rendering writes OpenMetrics text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use crate::metric::{Counter, Gauge, Histogram, LATENCY_BOUNDS_MICROS};

/// The content type of [`Registry::render`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A family's description: its name (without the `_total` of counter samples) and help.
#[derive(Clone, Copy, Debug)]
pub struct FamilyDef {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
}

#[derive(Clone)]
enum Series {
    Counter(Arc<Counter>),
    Gauge(Arc<Gauge>),
    Histogram(Arc<Histogram>),
}

struct Family {
    def: FamilyDef,
    /// Rendered label set (`a="x",b="y"`) -> series.
    series: BTreeMap<String, Series>,
}

/// Called before each render, to refresh gauges read from elsewhere (RSS, CPU, ...).
type Collector = Box<dyn Fn() + Send + Sync>;

/// All metric families of a process.
#[derive(Default)]
pub struct Registry {
    families: Mutex<BTreeMap<&'static str, Family>>,
    collectors: Mutex<Vec<Collector>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

/// Escapes a label value as OpenMetrics requires (`\`, `"` and newlines).
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn label_key(labels: &[(&str, &str)]) -> String {
    let mut key = String::new();
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(name);
        key.push_str("=\"");
        escape(value, &mut key);
        key.push('"');
    }
    key
}

impl Registry {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn series(&self, def: FamilyDef, labels: &[(&str, &str)], make: fn() -> Series) -> Series {
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let family = families.entry(def.name).or_insert_with(|| Family {
            def,
            series: BTreeMap::new(),
        });
        debug_assert_eq!(family.def.kind, def.kind, "{} registered twice", def.name);
        family
            .series
            .entry(label_key(labels))
            .or_insert_with(make)
            .clone()
    }

    /// The counter of `def` with these labels, created on first use; the same handle for the
    /// same labels, so counts survive a plan being recompiled.
    pub fn counter(&self, def: FamilyDef, labels: &[(&str, &str)]) -> Arc<Counter> {
        match self.series(def, labels, || Series::Counter(Arc::default())) {
            Series::Counter(c) => c,
            _ => Arc::default(),
        }
    }

    pub fn gauge(&self, def: FamilyDef, labels: &[(&str, &str)]) -> Arc<Gauge> {
        match self.series(def, labels, || Series::Gauge(Arc::default())) {
            Series::Gauge(g) => g,
            _ => Arc::default(),
        }
    }

    pub fn histogram(&self, def: FamilyDef, labels: &[(&str, &str)]) -> Arc<Histogram> {
        match self.series(def, labels, || Series::Histogram(Arc::default())) {
            Series::Histogram(h) => h,
            _ => Arc::default(),
        }
    }

    /// Runs `collect` before every render.
    pub fn on_render(&self, collect: impl Fn() + Send + Sync + 'static) {
        self.collectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(collect));
    }

    /// Every family in OpenMetrics text, ending with `# EOF`.
    pub fn render(&self) -> String {
        for collect in self
            .collectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            collect();
        }
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::with_capacity(4096);
        for family in families.values() {
            let FamilyDef { name, help, kind } = family.def;
            let kind_name = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# TYPE {name} {kind_name}");
            let _ = writeln!(out, "# HELP {name} {help}");
            for (labels, series) in &family.series {
                let braces = |extra: &str| -> String {
                    match (labels.is_empty(), extra.is_empty()) {
                        (true, true) => String::new(),
                        (true, false) => format!("{{{extra}}}"),
                        (false, true) => format!("{{{labels}}}"),
                        (false, false) => format!("{{{labels},{extra}}}"),
                    }
                };
                match series {
                    Series::Counter(c) => {
                        let _ = writeln!(out, "{name}_total{} {}", braces(""), c.get());
                    }
                    Series::Gauge(g) => {
                        let _ = writeln!(out, "{name}{} {}", braces(""), g.get());
                    }
                    Series::Histogram(h) => {
                        let cumulative = h.cumulative();
                        for (bound, count) in LATENCY_BOUNDS_MICROS.iter().zip(cumulative) {
                            let le = format!("le=\"{}\"", millis(*bound));
                            let _ = writeln!(out, "{name}_bucket{} {count}", braces(&le));
                        }
                        let total = cumulative[LATENCY_BOUNDS_MICROS.len()];
                        let _ = writeln!(out, "{name}_bucket{} {total}", braces("le=\"+Inf\""));
                        let _ = writeln!(out, "{name}_count{} {total}", braces(""));
                        let _ =
                            writeln!(out, "{name}_sum{} {}", braces(""), millis(h.sum_micros()));
                    }
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// Microseconds as a decimal number of milliseconds (`0.05`, `1`, `2.5`).
fn millis(micros: u64) -> String {
    let whole = micros / 1000;
    let frac = micros % 1000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:03}")
            .trim_end_matches('0')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HITS: FamilyDef = FamilyDef {
        name: "test_hits",
        help: "Hits.",
        kind: Kind::Counter,
    };
    const LAT: FamilyDef = FamilyDef {
        name: "test_latency",
        help: "Latency in ms.",
        kind: Kind::Histogram,
    };

    #[test]
    fn same_labels_same_handle() {
        let r = Registry::new();
        let a = r.counter(HITS, &[("ApiName", "pets"), ("Stage", "prod")]);
        let b = r.counter(HITS, &[("ApiName", "pets"), ("Stage", "prod")]);
        a.inc();
        b.inc();
        assert_eq!(a.get(), 2);
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn renders_openmetrics() {
        let r = Registry::new();
        r.counter(HITS, &[("ApiName", "a \"q\"\\n")]).add(3);
        r.histogram(LAT, &[("Stage", "s")]).record_micros(700);
        let g = r.gauge(
            FamilyDef {
                name: "test_gauge",
                help: "G.",
                kind: Kind::Gauge,
            },
            &[],
        );
        r.on_render(move || g.set(42));
        let text = r.render();
        assert!(text.contains("# TYPE test_hits counter\n"), "{text}");
        assert!(
            text.contains("test_hits_total{ApiName=\"a \\\"q\\\"\\\\n\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("test_latency_bucket{Stage=\"s\",le=\"0.5\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("test_latency_bucket{Stage=\"s\",le=\"1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("test_latency_bucket{Stage=\"s\",le=\"+Inf\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("test_latency_sum{Stage=\"s\"} 0.7\n"),
            "{text}"
        );
        assert!(text.contains("test_gauge 42\n"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn millis_formatting() {
        assert_eq!(millis(50), "0.05");
        assert_eq!(millis(2_500), "2.5");
        assert_eq!(millis(29_000_000), "29000");
        assert_eq!(millis(1_234), "1.234");
    }
}
