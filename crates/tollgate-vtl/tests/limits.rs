//! Hostile templates end with an error (or bounded output), never a hang or
//! a stack overflow.

use std::sync::Arc;

use tollgate_vtl::{Context, HostObject, Limits, Template, Value};

fn run(src: &str) -> Result<String, String> {
    let t = Template::parse(src).map_err(|e| e.to_string())?;
    t.render(&mut Context::new(), &Limits::default())
        .map_err(|e| e.to_string())
}

#[test]
fn template_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Template>();
    check::<Value>();
}

#[test]
fn foreach_of_1001_stops_at_1000() {
    let out = run("#foreach($i in [1..1001])#set($last = $i)#end$last");
    assert_eq!(out, Ok("1000".to_string()));
}

#[test]
fn deeply_nested_macro_bodies_do_not_overflow() {
    let body = format!("{}x{}", "#if(true)".repeat(40), "#end".repeat(40));
    let src = format!("#macro(m)#m(){body}#end#m()");
    assert!(run(&src).is_err());
    let src = format!(
        "#macro(m $s)#set($t = \"{}$s\")$t#m($t)#end#m('y')",
        "#if(true)".repeat(20) + &"#end".repeat(20)
    );
    assert!(run(&src).is_err());
}

#[test]
fn exponential_work_is_refused() {
    let src = "#macro(b $n)#if($n > 0)#set($m = $n - 1)#b($m)#set($m = $n - 1)#b($m)#end#end#b(19)";
    // 2^19 macro calls: stopped by the step budget.
    let t = Template::parse(src).map_err(|e| e.to_string());
    let limits = Limits {
        max_steps: 100_000,
        ..Limits::default()
    };
    let out = t.and_then(|t| {
        t.render(&mut Context::new(), &limits)
            .map_err(|e| e.to_string())
    });
    assert!(out.is_err_and(|e| e.contains("steps")));
}

#[test]
fn host_object_is_callable() {
    struct Input;
    impl HostObject for Input {
        fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
            match (method, args) {
                ("params", [Value::String(p)]) => Ok(Value::String(format!("param:{p}"))),
                ("json", [Value::String(_)]) => Ok(Value::map([("k", Value::from("v"))])),
                _ => Ok(Value::Null),
            }
        }
        fn property(&self, name: &str) -> Option<Value> {
            (name == "body").then(|| Value::from("{}"))
        }
    }
    let t = Template::parse("$input.params('id') $input.json('$').k $input.body $input.nope()")
        .map_err(|e| e.to_string());
    let mut ctx = Context::new();
    ctx.insert("input", Value::Object(Arc::new(Input)));
    let out = t.and_then(|t| {
        t.render(&mut ctx, &Limits::default())
            .map_err(|e| e.to_string())
    });
    assert_eq!(out, Ok("param:id v {} $input.nope()".to_string()));
}

#[test]
fn parse_once_render_many() {
    let t = Template::parse("#set($c = $c + 1)$c").map_err(|e| e.to_string());
    let t = t.expect("parses");
    for i in 1..=3 {
        let mut ctx = Context::new();
        ctx.insert("c", Value::Int(i));
        assert_eq!(
            t.render(&mut ctx, &Limits::default()),
            Ok((i + 1).to_string())
        );
    }
}
