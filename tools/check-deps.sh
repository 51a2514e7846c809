#!/bin/bash
# SPDX-License-Identifier: MIT
# make check-deps: every #include in the components follows mk/deps.table.
# Project headers are resolved as the compiler does for "...": next to the including file
# first, then by name in the including component's own folders and common/ (a header name is
# unique in the tree), so "../agent/agent.h" counts as an edge to the agent.
set -u
cd "$(dirname "$0")/.."
TABLE=${1:-mk/deps.table}

declare -A uses libs
forbid=()
while read -r kind a b rest; do
        case "$kind" in
        uses) uses[$a]=" $b "; libs[$a]=" ${rest#*|} " ;;
        forbid) forbid+=("$a $b $rest") ;;
        esac
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TABLE" |
        awk '$1 == "uses" { printf "uses %s ", $2; s = ""; l = "";
                            for (i = 3; i <= NF; i++) { if ($i ~ /\.h$/) l = l " " $i; else s = s " " $i }
                            sub(/^ /, "", s); gsub(/ /, ",", s); print s " |" l; next } { print }')

reason() { # FROM TO
        local f from to why
        for f in "${forbid[@]}"; do
                read -r from to why <<<"$f"
                if { [ "$from" = "$1" ] || [ "$from" = "*" ]; } && { [ "$to" = "$2" ] || [ "$to" = "*" ]; }; then
                        echo "$why"; return
                fi
        done
        echo "not allowed by $TABLE"
}

# All project headers by base name -> path.
declare -A header
while read -r h; do header[$(basename "$h")]=$h; done < <(git ls-files -co --exclude-standard '*.h' 2>/dev/null | grep -v '^test/\|^bench/')

bad=0
checked=0
for comp in "${!uses[@]}"; do
        allowed=${uses[$comp]//,/ }
        while IFS=: read -r file line text; do
                checked=$((checked + 1))
                inc=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"]\)\([^>"]*\)[>"].*/\1\2/p' <<<"$text")
                kind=${inc:0:1} name=${inc:1}
                if [ "$kind" = "<" ]; then
                        case "$name" in systemd/sd-*.h|curl/curl.h|microhttpd.h) ;; *) continue ;; esac
                        [[ "${libs[$comp]}" == *" $name "* ]] && continue
                        echo "$file:$line: includes <$name>: component $comp may not use that library: $(reason "$comp" library)"
                        bad=$((bad + 1))
                        continue
                fi
                target=$(realpath -m --relative-to=. "$(dirname "$file")/$name")
                [ -f "$target" ] || target=${header[$(basename "$name")]:-}
                if [ -z "$target" ]; then
                        echo "$file:$line: includes \"$name\", which is no header of the project"
                        bad=$((bad + 1))
                        continue
                fi
                to=${target%%/*}
                [[ " $allowed " == *" $to "* ]] && continue
                echo "$file:$line: includes \"$name\" ($target): $comp -> $to is forbidden: $(reason "$comp" "$to")"
                bad=$((bad + 1))
        done < <(git ls-files -co --exclude-standard "$comp/*.c" "$comp/*.h" | xargs -r grep -Hn '^[[:space:]]*#[[:space:]]*include')
done

if [ "$bad" -gt 0 ]; then
        echo "check-deps: $bad forbidden include(s) in $checked"
        exit 1
fi
echo "check-deps: $checked includes follow $TABLE"
