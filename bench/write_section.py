"""Puts one marked section into bench/RESULTS.md: the text on stdin, which starts with
<!-- NAME: ... --> and ends with <!-- /NAME -->, replaces the section of that name, or is
appended. Each bench script that is not part of bench/run.sh writes its own section so."""
import re
import sys

path, name = sys.argv[1], sys.argv[2]
section = sys.stdin.read()
text = open(path).read()
pattern = rf"<!-- {name}:.*?<!-- /{name} -->\n"
if re.search(pattern, text, re.S):
    text = re.sub(pattern, lambda _: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
