import json, sys, os
import parsedmarc
out = {}
for path in sys.argv[1:]:
    name = os.path.basename(path)
    try:
        parsed = parsedmarc.parse_report_file(path, offline=True)
    except Exception as e:
        out[name] = {"error": type(e).__name__ + ": " + str(e)[:200]}
        continue
    kind = parsed.get("report_type")
    if kind != "aggregate":
        out[name] = {"kind": kind}
        continue
    r = parsed["report"]
    msgs = fails = 0
    for rec in r["records"]:
        c = rec["count"]
        pe = rec["policy_evaluated"]
        msgs += c
        if not (pe["dkim"] == "pass" or pe["spf"] == "pass"):
            fails += c
    out[name] = {"kind": "aggregate", "reporter": r["report_metadata"]["org_name"], "reportId": r["report_metadata"]["report_id"], "messages": msgs, "fails": fails, "begin": r["report_metadata"]["begin_date"], "end": r["report_metadata"]["end_date"]}
json.dump(out, sys.stdout, indent=1, sort_keys=True)
