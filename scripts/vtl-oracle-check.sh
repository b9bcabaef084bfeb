#!/usr/bin/env bash
# Re-derives the VTL corpora's expected outputs with the Java oracles (the real
# Apache Velocity 1.7, Jayway JsonPath, json-smart) and fails if any of them
# differs from the committed `.expected` / `.error` fixtures.
#
#   crates/tollgate-vtl/tests/corpus          <- tests/oracle/Oracle.java
#   crates/tollgate-mapping/tests/corpus      <- tests/oracle/MappingOracle.java
#   crates/tollgate-mapping/tests/known_diff  <- tests/oracle/MappingOracle.java
#
# Installs the Debian packages the oracles need when a jar is missing (and a
# headless JRE when there is no `java`). Nothing in the work tree is written:
# the oracles run on copies of the templates in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

J=/usr/share/java
# jar -> Debian package that ships it.
declare -A PKG=(
  [velocity.jar]=velocity
  [commons-collections3.jar]=libcommons-collections3-java
  [commons-lang.jar]=libcommons-lang-java
  [json-path.jar]=libjsonpath-java
  [json-smart.jar]=libjson-smart-java
  [accessors-smart.jar]=libjson-smart-java
  [asm.jar]=libasm-java
  [slf4j-api.jar]=libslf4j-java
  [slf4j-nop.jar]=libslf4j-java
)
need=()
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
for jar in "${!PKG[@]}"; do
  [[ -f $J/$jar ]] || need+=("${PKG[$jar]}")
done
if ((${#need[@]})); then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "vtl-oracle-check: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

VCP=$J/velocity.jar:$J/commons-collections3.jar:$J/commons-lang.jar
MCP=$VCP:$J/json-path.jar:$J/json-smart.jar:$J/accessors-smart.jar:$J/asm.jar:$J/slf4j-api.jar:$J/slf4j-nop.jar

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Quieter and faster start-up for these short single-file programs.
JAVA=(java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto)

# copy_templates SRC DST: the templates only, so every fixture in DST is fresh.
copy_templates() {
  mkdir -p "$2"
  find "$1" -maxdepth 1 -name '*.vtl' -exec cp -t "$2" {} +
}

# compare NAME COMMITTED REGENERATED: every .expected/.error on either side
# must exist on both with identical bytes.
failures=0
compare() {
  local name=$1 committed=$2 fresh=$3 f base n=0 bad=0
  while IFS= read -r f; do
    base=${f##*/}
    n=$((n + 1))
    if [[ ! -f $committed/$base ]]; then
      echo "  $name/$base: the oracle produced it, the committed corpus lacks it"
      bad=$((bad + 1))
    elif [[ ! -f $fresh/$base ]]; then
      echo "  $name/$base: committed, but the oracle did not produce it"
      bad=$((bad + 1))
    elif ! cmp -s "$committed/$base" "$fresh/$base"; then
      echo "  $name/$base differs (committed vs oracle):"
      diff <(od -c "$committed/$base") <(od -c "$fresh/$base") | head -20 | sed 's/^/    /' || true
      bad=$((bad + 1))
    fi
  done < <(find "$committed" "$fresh" -maxdepth 1 \( -name '*.expected' -o -name '*.error' \) -printf '%f\n' | sort -u)
  echo "vtl-oracle-check: $name: $n fixtures, $bad differ"
  failures=$((failures + bad))
}

VTL=crates/tollgate-vtl
MAP=crates/tollgate-mapping

copy_templates $VTL/tests/corpus "$tmp/vtl"
copy_templates $MAP/tests/corpus "$tmp/map"
copy_templates $MAP/tests/known_diff "$tmp/known_diff"

# The three oracle runs are independent: run them side by side.
"${JAVA[@]}" -cp "$VCP" $VTL/tests/oracle/Oracle.java "$tmp/vtl" &
p1=$!
"${JAVA[@]}" -cp "$MCP" $MAP/tests/oracle/MappingOracle.java "$tmp/map" $MAP/tests/corpus/requests &
p2=$!
"${JAVA[@]}" -cp "$MCP" $MAP/tests/oracle/MappingOracle.java "$tmp/known_diff" $MAP/tests/corpus/requests &
p3=$!
ok=1
for p in $p1 $p2 $p3; do wait "$p" || ok=0; done
if ((!ok)); then
  echo "vtl-oracle-check: FAILED: an oracle did not run (see above)"
  exit 1
fi

compare tollgate-vtl/tests/corpus $VTL/tests/corpus "$tmp/vtl"
compare tollgate-mapping/tests/corpus $MAP/tests/corpus "$tmp/map"
compare tollgate-mapping/tests/known_diff $MAP/tests/known_diff "$tmp/known_diff"

if ((failures)); then
  echo "vtl-oracle-check: FAILED: $failures fixtures differ from Velocity 1.7 / Jayway (see above)"
  exit 1
fi
echo "vtl-oracle-check: all fixtures match the oracles"
