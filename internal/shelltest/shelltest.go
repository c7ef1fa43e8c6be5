// Package shelltest holds what the adversarial shell tests share: values a shell would act on
// if it parsed them, and the places in a script where a value can stand.
package shelltest

import "strconv"

// HostileValues are what would run if a shell parsed a value: each quote, both command
// substitutions, a separator, newlines, a here-document's delimiter line, a glob, an option,
// nothing at all, bytes that are not UTF-8, an arithmetic expansion that looks like a
// here-document, and a case pattern's end. pwned is the file any of them would create.
func HostileValues(pwned string) []string {
	touch := "touch " + pwned
	return []string{
		"it's", `"quoted"`, "$(" + touch + ")", "`" + touch + "`", "; " + touch, "a\nb",
		"EOF\n" + touch + "\nEOF", "EOF", "*", "-n", "", "\xff\xfe not UTF-8", "$((1<<2))",
		`\`, "x\n", "  two  words  ", "${IFS}$HOME", ") " + touch + " ;; esac; case x in x)",
		"'$(" + touch + ")'", "\"; " + touch + "; echo \"",
	}
}

// Contexts are the places a value can stand in a script: @V@ is the value, and each script
// writes it, followed by what the context adds (want), into $OUT/<index>.
var Contexts = []struct{ Name, Script, Want string }{
	{"unquoted", `printf '%s|' @V@ > "$OUT/$I"`, "|"},
	{"double quotes", `printf '%s|' "@V@" > "$OUT/$I"`, "|"},
	{"here-document", "cat > \"$OUT/$I\" <<EOF\n@V@|\nEOF", "|\n"},
	{"here-document, tab-stripped", "cat > \"$OUT/$I\" <<-EOF\n\t@V@|\n\tEOF", "|\n"},
	{"$( ) in a here-document", "cat > \"$OUT/$I\" <<EOF\n$(printf '%s|' @V@)\nEOF", "|\n"},
	{"$( ) unquoted", `v=$(printf '%s|' @V@); printf '%s' "$v" > "$OUT/$I"`, "|"},
	{"$( ) in double quotes", `printf '%s' "$(printf '%s|' "@V@")" > "$OUT/$I"`, "|"},
	{"backticks", "printf '%s' \"`printf '%s|' @V@`\" > \"$OUT/$I\"", "|"},
	// printf, not echo: dash's echo reads backslashes in what it is given (the value "\\0" came
	// out as a NUL), which is the context's fault, not the value's.
	{"backticks in $( )", "printf '%s' \"$(printf '%s' \"`printf '%s|' @V@`\")\" > \"$OUT/$I\"", "|"},
	{"arithmetic before", "n=$((1<<2)); printf '%s|' @V@ > \"$OUT/$I\"", "|"},
	{"case word and pattern", `case @V@ in @V@) printf '%s|' @V@ > "$OUT/$I" ;; *) echo nomatch > "$OUT/$I" ;; esac`, "|"},
	{"case in $( ) in double quotes", `v="$(case x in x) printf '%s|' @V@ ;; esac)"; printf '%s' "$v" > "$OUT/$I"`, "|"},
	{"a pattern never matches more than itself", `case "not the value" in @V@) echo glob > "$OUT/$I" ;; *) printf '%s|' @V@ > "$OUT/$I" ;; esac`, "|"},
	{"${VAR:-...} unquoted", `printf '%s|' ${PB_UNSET_VAR:-@V@} > "$OUT/$I"`, "|"},
	{"${VAR:-...} in double quotes", `printf '%s|' "${PB_UNSET_VAR:-@V@}" > "$OUT/$I"`, "|"},
	{"function argument", `f() { printf '%s|' "$1"; }; f @V@ > "$OUT/$I"`, "|"},
	{"assignment", `v=@V@; printf '%s|' "$v" > "$OUT/$I"`, "|"},
}

// ValueExpr reads value number item from the environment SetValues fills: values that are not
// UTF-8 or hold what YAML cannot say reach a playbook unchanged that way.
const ValueExpr = "${{ env('PB_HOSTILE_' + string(item)) }}"

// SetValues puts each value in the environment for ValueExpr and returns their indexes, for a
// loop: [0, 1, ...].
func SetValues(t interface{ Setenv(k, v string) }, values []string) []string {
	indexes := make([]string, len(values))
	for i, v := range values {
		t.Setenv("PB_HOSTILE_"+strconv.Itoa(i), v)
		indexes[i] = strconv.Itoa(i)
	}
	return indexes
}
