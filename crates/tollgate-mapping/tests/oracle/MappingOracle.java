// Oracle harness: renders every `*.vtl` template of a corpus directory with
// the real Apache Velocity 1.7, `$input` / `$util` implemented the way API
// Gateway does on top of Jayway JsonPath (json-smart), and records the exact
// output bytes next to it.
//
//   NAME.vtl -> NAME.expected (UTF-8 output, byte for byte)
//   NAME.vtl -> NAME.error    (Velocity threw; holds the exception class)
//
// A template whose first line is `##request: REQ` is rendered against
// `requests/REQ.req` (that line is removed first); otherwise `default.req`.
// A request file holds `path: k=v`, `query: k=v`, `header: k=v` lines, then
// a line `body:` followed by the raw body (verbatim to the end of the file).
//
// `context()` must stay identical to `context()` in `tests/corpus.rs`.
// See README.md in this directory for how to run it.

import java.io.File;
import java.io.StringWriter;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

import org.apache.commons.lang.StringEscapeUtils;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

import com.jayway.jsonpath.Configuration;
import com.jayway.jsonpath.JsonPath;
import com.jayway.jsonpath.PathNotFoundException;
import com.jayway.jsonpath.spi.json.JsonProvider;

import net.minidev.json.JSONValue;

public class MappingOracle {
    static final JsonProvider JSON = Configuration.defaultConfiguration().jsonProvider();

    /** A parsed request fixture. */
    static class Request {
        String body = "";
        Map<String, String> path = new LinkedHashMap<>();
        Map<String, String> querystring = new LinkedHashMap<>();
        Map<String, String> header = new LinkedHashMap<>();

        static Request load(File f) throws Exception {
            Request r = new Request();
            String text = new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8);
            int at = 0;
            while (at < text.length()) {
                int nl = text.indexOf('\n', at);
                String line = nl < 0 ? text.substring(at) : text.substring(at, nl);
                at = nl < 0 ? text.length() : nl + 1;
                if (line.equals("body:")) {
                    r.body = text.substring(at);
                    break;
                }
                if (line.isEmpty()) continue;
                int colon = line.indexOf(": ");
                String kind = line.substring(0, colon);
                String kv = line.substring(colon + 2);
                int eq = kv.indexOf('=');
                String k = kv.substring(0, eq), v = kv.substring(eq + 1);
                Map<String, String> m = kind.equals("path") ? r.path
                        : kind.equals("query") ? r.querystring : r.header;
                // A repeated key keeps its first position and last value.
                m.put(k, v);
            }
            return r;
        }
    }

    /** API Gateway's `$input`. */
    public static class Input {
        private final Request req;
        Input(Request req) { this.req = req; }

        public String getBody() { return req.body.isEmpty() ? "{}" : req.body; }

        /** The parsed payload, or null when it is not JSON. */
        private Object doc() {
            try {
                return new Object[] { JSON.parse(getBody()) };
            } catch (Exception e) {
                return null;
            }
        }

        /** Jayway read with exceptions suppressed; `absent` when nothing matched. */
        private Object read(String path, Object absent) {
            JsonPath p = JsonPath.compile(path); // InvalidPathException propagates
            Object d = doc();
            if (d == null) {
                if (path.trim().equals("$")) return getBody();
                return p.isDefinite() ? absent : JSON.createArray();
            }
            try {
                return p.read(((Object[]) d)[0]);
            } catch (PathNotFoundException e) {
                return absent;
            }
        }

        public Object path(String path) { return read(path, null); }

        public String json(String path) { return JSONValue.toJSONString(read(path, null)); }

        public Map<String, Object> params() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", new LinkedHashMap<>(req.path));
            m.put("querystring", new LinkedHashMap<>(req.querystring));
            m.put("header", new LinkedHashMap<>(req.header));
            return m;
        }

        public String params(String name) {
            if (req.path.containsKey(name)) return req.path.get(name);
            if (req.querystring.containsKey(name)) return req.querystring.get(name);
            String found = null;
            for (Map.Entry<String, String> e : req.header.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) found = e.getValue();
            }
            return found == null ? "" : found;
        }

        public String toString() { return "$input"; }
    }

    /** API Gateway's `$util`. */
    public static class Util {
        public String escapeJavaScript(Object s) {
            return s == null ? null : StringEscapeUtils.escapeJavaScript(String.valueOf(s));
        }
        public Object parseJson(Object s) {
            return s == null ? null : JSON.parse(String.valueOf(s));
        }
        public String urlEncode(Object s) throws Exception {
            return s == null ? null : URLEncoder.encode(String.valueOf(s), "UTF-8");
        }
        public String urlDecode(Object s) throws Exception {
            return s == null ? null : URLDecoder.decode(String.valueOf(s), "UTF-8");
        }
        public String base64Encode(Object s) {
            return s == null ? null
                    : Base64.getEncoder().encodeToString(String.valueOf(s).getBytes(StandardCharsets.UTF_8));
        }
        public String base64Decode(Object s) {
            return s == null ? null
                    : new String(Base64.getDecoder().decode(String.valueOf(s)), StandardCharsets.UTF_8);
        }
        public String toString() { return "$util"; }
    }

    static VelocityContext context(Request req) {
        VelocityContext c = new VelocityContext();
        c.put("input", new Input(req));
        c.put("util", new Util());
        Map<String, Object> identity = new LinkedHashMap<>();
        identity.put("sourceIp", "192.0.2.1");
        identity.put("userAgent", "curl/8.5.0");
        identity.put("accountId", "111122223333");
        identity.put("caller", "AIDACKCEVSQ6C2EXAMPLE");
        Map<String, Object> authorizer = new LinkedHashMap<>();
        authorizer.put("principalId", "user-123");
        authorizer.put("scope", "read");
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("httpMethod", "POST");
        ctx.put("stage", "prod");
        ctx.put("requestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
        ctx.put("apiId", "abcd1234");
        ctx.put("resourcePath", "/pets/{petId}");
        ctx.put("resourceId", "efg567");
        ctx.put("identity", identity);
        ctx.put("authorizer", authorizer);
        c.put("context", ctx);
        Map<String, Object> stage = new LinkedHashMap<>();
        stage.put("env", "test");
        stage.put("tableName", "Pets");
        c.put("stageVariables", stage);
        return c;
    }

    public static void main(String[] args) throws Exception {
        File dir = new File(args.length > 0 ? args[0] : ".");
        File requests = new File(args.length > 1 ? args[1] : dir.getPath() + "/requests");
        Properties p = new Properties();
        p.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
        // API Gateway limits #foreach to 1000 iterations.
        p.setProperty("directive.foreach.maxloops", "1000");
        File[] files = dir.listFiles((d, n) -> n.endsWith(".vtl"));
        Arrays.sort(files);
        for (File f : files) {
            String base = f.getPath().substring(0, f.getPath().length() - 4);
            VelocityEngine engine = new VelocityEngine();
            engine.init(p);
            String src = new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8);
            String reqName = "default";
            if (src.startsWith("##request: ")) {
                int nl = src.indexOf('\n');
                reqName = src.substring("##request: ".length(), nl).trim();
                src = src.substring(nl + 1);
            }
            Request req = Request.load(new File(requests, reqName + ".req"));
            StringWriter out = new StringWriter();
            File expected = new File(base + ".expected");
            File error = new File(base + ".error");
            try {
                engine.evaluate(context(req), out, f.getName(), src);
                Files.write(expected.toPath(), out.toString().getBytes(StandardCharsets.UTF_8));
                error.delete();
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                Files.write(error.toPath(),
                        (e.getClass().getSimpleName() + ": " + cause + "\n").getBytes(StandardCharsets.UTF_8));
                expected.delete();
            }
        }
    }
}
