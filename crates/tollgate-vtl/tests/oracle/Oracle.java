// Oracle harness: renders every `*.vtl` file of a corpus directory with the
// real Apache Velocity 1.7 and records the exact output bytes next to it.
//
//   NAME.vtl      -> NAME.expected  (UTF-8 output, byte for byte)
//   NAME.vtl      -> NAME.error     (when Velocity throws; holds the exception)
//
// The context built in `context()` must stay identical to the one built in
// `tests/corpus.rs`. See README.md in this directory for how to run it.

import java.io.File;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

public class Oracle {
    /** A host object, standing in for API Gateway's `$input` / `$util`. */
    public static class Host {
        public String getId() { return "42"; }
        public String greet(String who) { return "Hello, " + who; }
        public int twice(int x) { return x * 2; }
        public String fail() { throw new RuntimeException("boom"); }
        public String toString() { return "Host"; }
    }

    static VelocityContext context() {
        VelocityContext c = new VelocityContext();
        c.put("name", "World");
        c.put("n", Integer.valueOf(5));
        c.put("neg", Integer.valueOf(-3));
        c.put("big", Long.valueOf(3000000000L));
        c.put("pi", Double.valueOf(3.14159));
        c.put("price", Double.valueOf(19.99));
        c.put("flag", Boolean.TRUE);
        c.put("no", Boolean.FALSE);
        c.put("empty", "");
        c.put("spaces", "  padded  ");
        c.put("text", "Hello, World");
        c.put("csv", "a,b,,c");
        c.put("quote", "say \"hi\"");
        c.put("list", new ArrayList<Object>(Arrays.asList("a", "b", "c")));
        c.put("nums", new ArrayList<Object>(Arrays.asList(1, 2, 3, 4, 5)));
        c.put("emptyList", new ArrayList<Object>());
        Map<String, Object> map = new LinkedHashMap<String, Object>();
        map.put("a", 1);
        map.put("b", "two");
        map.put("c", new ArrayList<Object>(Arrays.asList(1, 2)));
        c.put("map", map);
        Map<String, Object> address = new LinkedHashMap<String, Object>();
        address.put("city", "Paris");
        address.put("zip", "75001");
        Map<String, Object> user = new LinkedHashMap<String, Object>();
        user.put("name", "Ann");
        user.put("age", 30);
        user.put("tags", new ArrayList<Object>(Arrays.asList("x", "y")));
        user.put("address", address);
        c.put("user", user);
        List<Object> people = new ArrayList<Object>();
        for (String[] p : new String[][] {{"Bob", "7"}, {"Eve", "12"}, {"Zed", "3"}}) {
            Map<String, Object> m = new LinkedHashMap<String, Object>();
            m.put("name", p[0]);
            m.put("score", Integer.valueOf(p[1]));
            people.add(m);
        }
        c.put("people", people);
        c.put("host", new Host());
        return c;
    }

    public static void main(String[] args) throws Exception {
        File dir = new File(args.length > 0 ? args[0] : ".");
        Properties p = new Properties();
        p.setProperty("runtime.log.logsystem.class",
                "org.apache.velocity.runtime.log.NullLogChute");
        // API Gateway limits #foreach to 1000 iterations.
        p.setProperty("directive.foreach.maxloops", "1000");
        File[] files = dir.listFiles((d, n) -> n.endsWith(".vtl"));
        Arrays.sort(files);
        for (File f : files) {
            String base = f.getPath().substring(0, f.getPath().length() - 4);
            // A fresh engine per template so inline macros do not leak.
            VelocityEngine engine = new VelocityEngine();
            engine.init(p);
            String src = new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8);
            StringWriter out = new StringWriter();
            File expected = new File(base + ".expected");
            File error = new File(base + ".error");
            try {
                engine.evaluate(context(), out, f.getName(), src);
                Files.write(expected.toPath(), out.toString().getBytes(StandardCharsets.UTF_8));
                error.delete();
            } catch (Exception e) {
                Files.write(error.toPath(),
                        (e.getClass().getSimpleName() + "\n").getBytes(StandardCharsets.UTF_8));
                expected.delete();
            }
        }
    }
}
