//! Renders a few hundred pseudo-random payloads (JSON and not) through
//! `$input` / `$util`: nothing may panic, and `$input.json('$')` must be
//! JSON that parses back to the original document.

use std::sync::Arc;

use serde_json::{Map, Value as Json};
use tollgate_mapping::{RequestData, bind};
use tollgate_vtl::{Context, Limits, Template};

/// xorshift64*: tiny, deterministic, good enough to shake out panics.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn string(&mut self) -> String {
        const POOL: &[char] = &[
            'a', 'b', 'z', 'A', '0', ' ', '"', '\'', '\\', '/', '\n', '\t', '\u{1}', '\u{7f}',
            '\u{85}', 'é', '€', '\u{2028}', '日', '😀', '$', '#', '.', '[', '%', '+', '&', '=',
        ];
        let len = self.below(12);
        (0..len)
            .map(|_| POOL[self.below(POOL.len() as u64) as usize])
            .collect()
    }
    fn number(&mut self) -> Json {
        match self.below(6) {
            0 => Json::from(self.below(100) as i64 - 50),
            1 => Json::from(self.next() as i64),
            2 => Json::from(self.next()),
            3 => Json::from((self.next() as f64) / 7.0),
            4 => Json::from(f64::from_bits(self.next() >> 2)),
            _ => Json::from(self.below(1000) as f64 / 8.0),
        }
    }
    fn json(&mut self, depth: u32) -> Json {
        let leaf = depth > 4 || self.below(3) == 0;
        match if leaf {
            self.below(4)
        } else {
            4 + self.below(2)
        } {
            0 => Json::Null,
            1 => Json::Bool(self.below(2) == 0),
            2 => self.number(),
            3 => Json::String(self.string()),
            4 => Json::Array((0..self.below(5)).map(|_| self.json(depth + 1)).collect()),
            _ => {
                let mut m = Map::new();
                for _ in 0..self.below(5) {
                    let k = if self.below(2) == 0 {
                        ["a", "b", "name", "id"][self.below(4) as usize].to_string()
                    } else {
                        self.string()
                    };
                    m.insert(k, self.json(depth + 1));
                }
                Json::Object(m)
            }
        }
    }
}

const TEMPLATES: &[&str] = &[
    "$input.json('$')",
    "$input.path('$')",
    "$input.json('$..a') $input.json('$.a.b[0]') $input.json('$..name') $input.json('$.*')",
    "#foreach($x in $input.path('$..*'))$x|#end",
    "#foreach($x in $input.path('$[*]'))$x.size()#end $input.path('$.a').size()",
    "$input.json('$[?(@.id > 0)]') $input.json(\"$..[?(@.name == 'a')]\") $input.json('$[-1:]')",
    "$util.escapeJavaScript($input.body) $util.urlEncode($input.body) $util.base64Encode($input.body)",
    "#set($p = $util.parseJson($input.json('$')))$p",
    "$input.json('$.length()') $input.json('$..id.length()') $input.json('$[0,1,-1]')",
];

fn render(body: Vec<u8>, templates: &[Template]) -> Vec<Result<String, String>> {
    let data = Arc::new(RequestData {
        body,
        ..RequestData::default()
    });
    templates
        .iter()
        .map(|t| {
            let mut ctx = Context::new();
            bind(&mut ctx, data.clone());
            t.render(&mut ctx, &Limits::default())
                .map_err(|e| e.to_string())
        })
        .collect()
}

#[test]
fn random_bodies_render_without_panicking() {
    let templates: Vec<Template> = TEMPLATES
        .iter()
        .map(|s| Template::parse(s).expect("template"))
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..400 {
        let doc = rng.json(0);
        let text = serde_json::to_string(&doc).expect("serialize");
        let out = render(text.into_bytes(), &templates);
        let json = out[0].as_ref().expect("$input.json('$') renders");
        let back: Json = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("case {i}: {json:?} is not JSON: {e}"));
        assert_eq!(back, doc, "case {i}: $input.json('$') does not round-trip");
        // Arbitrary bytes, mostly not JSON.
        let junk: Vec<u8> = (0..rng.below(40)).map(|_| rng.next() as u8).collect();
        render(junk, &templates);
    }
}

#[test]
fn deeply_nested_bodies_are_not_a_stack_overflow() {
    let templates: Vec<Template> = TEMPLATES
        .iter()
        .map(|s| Template::parse(s).expect("template"))
        .collect();
    for body in [
        "[".repeat(100_000),
        format!("{}1{}", "[".repeat(120), "]".repeat(120)),
        format!(
            "{}{}",
            "{\"a\":".repeat(120),
            "1".to_string() + &"}".repeat(120)
        ),
    ] {
        render(body.into_bytes(), &templates);
    }
}
