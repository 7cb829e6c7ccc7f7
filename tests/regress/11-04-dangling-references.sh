# Issue 11, defect 4: the tree named files that do not exist (Makefile -> docs/building.md,
# validate.h -> docs/icode.md, wasi.h -> io.c). In the sources, docs, README, Makefile,
# tools and examples, every path into the project's own directories and every bare source
# file name (x.c, x.inc, x.def; not in #include lines, which the compiler checks) must name
# a tracked file. Paths with a placeholder in capitals (NAME, DATE) are patterns, and paths
# under a system directory (/usr/include/...) are not ours.
root=$(cd "$here/../.." && pwd)
cd "$root" || fail "no repository at $root"
git rev-parse --git-dir >/dev/null 2>&1 || fail "$root is not a git checkout"
declare -A exists
while IFS= read -r f; do
    exists[$f]=1
    exists[${f##*/}]=1
done < <(git ls-files)
bad=0
dirs='docs|src|tests|tools|include|bench|examples'
while IFS= read -r f; do
    while IFS= read -r ref; do
        [[ $ref =~ ^[a-z0-9_] ]] || ref=${ref:1}
        [[ $ref =~ [A-Z]{3} ]] && continue # a placeholder such as NAME or DATE
        [[ -n ${exists[$ref]:-} || -d $ref ]] && continue
        echo "$f names $ref, which is not in the tree"
        bad=1
    done < <(grep -v '#include' "$f" | grep -ohIE \
        "(^|[^/A-Za-z0-9_.%-])(($dirs)/[A-Za-z0-9_./-]*\.(md|c|h|sh|inc|def|py|wat)|[a-z_0-9]{2,}\.(c|inc|def))\b" |
        sort -u)
done < <(git ls-files 'src/*' 'include/*' 'docs/*.md' README.md Makefile 'tools/*' 'examples/*' \
    .ci/run)
((bad == 0)) || fail "dangling references (above)"
