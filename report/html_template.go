package report

import (
	"fmt"
	"html/template"
)

// htmlTemplate is the page. html/template escapes every value for where it lands, so a
// hostile step name or output line stays text. No script: <details> collapses what passed.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":     func(f float64) string { return fmt.Sprintf("%.2f%%", f) },
	"seconds": formatSeconds,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>playbook report{{range .Cells}} · {{.Name}}{{end}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1b1f24; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.2em; margin: 1.6em 0 .4em; }
.meta { color: #57606a; margin: 0 0 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.succeeded { background: #dafbe1; } td.failed { background: #ffebe9; }
td.skipped, td.not-run, td.cancelled, td.none { background: #f6f8fa; color: #57606a; }
.status-succeeded { color: #1a7f37; } .status-failed { color: #cf222e; } .status-cancelled, .status-not-run, .status-skipped { color: #57606a; }
.waterfall td.name { white-space: nowrap; max-width: 28em; overflow: hidden; text-overflow: ellipsis; }
.waterfall td.track { width: 60%; min-width: 20em; position: relative; }
.bar { position: relative; height: .9em; min-width: 2px; background: #54aeff; border-radius: 2px; }
.bar.failed { background: #ff8182; } .bar.skipped, .bar.not-run { background: #d0d7de; }
.item { position: relative; height: .45em; min-width: 2px; background: #b6e3ff; margin-top: 1px; }
.item.failed { background: #ffcecb; }
details { border: 1px solid #d0d7de; border-radius: 4px; margin: .3em 0; padding: .2em .6em; }
details.failed { border-color: #ff8182; }
summary { cursor: pointer; }
pre { background: #f6f8fa; padding: .5em; overflow-x: auto; max-height: 30em; font-size: 12px; white-space: pre-wrap; word-break: break-all; }
.error { color: #cf222e; }
</style>
</head>
<body>
<h1>playbook report</h1>
<p class="meta">generated {{.Generated}}{{range .Cells}} · {{.Name}} <span class="status-{{.Status}}">{{.Status}}</span> in {{seconds .Seconds}}{{end}}</p>
{{with .Comparison}}{{if .Rows}}
<h2 id="comparison">Proofs side by side</h2>
<table class="comparison">
<thead><tr><th>proof</th>{{range .Cells}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><th title="{{.Name}}">{{.Proof}}</th>{{range .Entries}}<td class="{{.Class}}"{{if .Error}} title="{{.Error}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}{{end}}
{{range .Cells}}
<h2 id="cell-{{.Name}}">{{.Name}} <span class="status-{{.Status}}">{{.Status}}</span></h2>
<p class="meta">playbook {{.Playbook}} · {{seconds .Seconds}}{{range $k, $v := .Vars}} · {{$k}}={{$v}}{{end}}</p>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<table class="waterfall">
<thead><tr><th>step</th><th>status</th><th>time</th><th>timeline</th></tr></thead>
<tbody>
{{range .Bars}}<tr><td class="name"><a href="#{{.Anchor}}">{{if .Finally}}finally: {{end}}{{.Name}}</a></td><td class="status-{{.Status}}">{{.Status}}{{if .Ignored}} (ignored){{end}}{{if .Retries}} · {{.Retries}} retries{{end}}</td><td>{{seconds .Seconds}}</td>
<td class="track"><div class="bar {{.Status}}" style="margin-left: {{pct .Left}}; width: {{pct .Width}}"></div>{{range .ItemBars}}<div class="item {{.Status}}" title="{{.Name}}" style="margin-left: {{pct .Left}}; width: {{pct .Width}}"></div>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{range .Bars}}
<details id="{{.Anchor}}" class="{{.Status}}"{{if .Open}} open{{end}}>
<summary><span class="status-{{.Status}}">{{.Status}}</span> {{.Name}}{{if .ID}} ({{.ID}}){{end}} · {{.Type}} · {{seconds .Seconds}}</summary>
{{if .Error}}<pre class="error">{{.Error}}</pre>{{end}}
{{if .Reason}}<p>{{.Reason}}</p>{{end}}
{{if .Items}}<p>items: {{range .Items}}<span class="status-{{.Status}}">{{.Name}}</span> {{end}}</p>{{end}}
{{if .Params}}<p>parameters</p><pre>{{.Params}}</pre>{{end}}
{{if .Outputs}}<p>outputs</p><pre>{{.Outputs}}</pre>{{end}}
{{if .Log}}<p>log{{if .Dropped}} (the last {{len .Log}} lines; {{.Dropped}} before them not kept){{end}}</p><pre>{{range .Log}}{{.}}
{{end}}</pre>{{end}}
</details>
{{end}}
{{end}}
</body>
</html>
`))
