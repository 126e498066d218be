"""The web interface against `reinfer-clone serve` (2 workers, SQLite), in Debian's headless Chromium.

    python bench/ui.py [--n 100000]

Syncs N comments (banking77 texts, cycled, two user properties) into one dataset, then measures:
- first load of the Explore page on a warm server with an empty browser cache: time until the
  first comment is shown, and bytes transferred (static assets apart, and everything);
- labelling: POST a labelling to the next comment, as the page does, timed from the client on
  the same machine (an upper bound of the server's time), 200 times;
- Explore on the N comments, in the browser: the query modes and a keyword search, from the
  click to the redrawn list, and keyboard navigation to the next comment.
Automatic retraining is off: a model over N comments would spend minutes embedding them.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import banking77_rows, project_with_dataset, server, session_for, sync_in_parallel  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def comments(n: int) -> list[dict]:
    texts = [r["text"] for r in banking77_rows("train")]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    return [{
        "id": f"ui-{i:07d}",
        "timestamp": (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "messages": [{"body": {"text": texts[i % len(texts)]}, "from": f"c{i % 997}@example.org"}],
        "user_properties": {"string:Channel": ("chat", "email", "phone")[i % 3], "number:Index": i},
    } for i in range(n)]


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with server(port=args.port, extra_env={"REINFER_CLONE_RETRAIN_DELAY": "-1"}) as (base, token, _proc):
        s = session_for(token)
        project, source = project_with_dataset(s, base, "ui")
        rows = comments(args.n)
        t0 = time.perf_counter()
        sync_in_parallel(token, base, project, rows)
        print(f"synced {args.n:,} comments in {time.perf_counter() - t0:.1f} s")
        dataset = f"{base}/api/_private/datasets/{project}/triage"
        explore = f"{base}/ui/{project}/triage/explore"

        # Labelling the next comment, as the Explore page does it (one POST per key press).
        times = []
        for i in range(200):
            uid = f"{source['id']}.ui-{args.n - 1 - i:07d}"
            name = ("Card > Arrival", "Exchange > Rate", "Refund")[i % 3]
            body = {"labelling": [{"group": "default", "assigned": [{"name": name, "sentiment": "positive"}],
                                   "dismissed": []}]}
            t = time.perf_counter()
            s.post(f"{dataset}/labellings/{uid}", json=body).raise_for_status()
            times.append(time.perf_counter() - t)
        times.sort()
        print(f"label the next comment (POST labelling, 200 times): median {ms(statistics.median(times))}, "
              f"p95 {ms(times[int(0.95 * len(times))])}, max {ms(times[-1])}")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

            def signed_in_page():
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.add_init_script(f"sessionStorage.setItem('reinfer-clone.token', {token!r})")
                return context, context.new_page()

            def first_load(url, ready):
                context, page = signed_in_page()
                t = time.perf_counter()
                page.goto(url)
                ready(page)
                elapsed = time.perf_counter() - t
                entries = page.evaluate("""() => performance.getEntriesByType('navigation')
                    .concat(performance.getEntriesByType('resource'))
                    .map(e => ({name: e.name, size: e.transferSize, start: e.requestStart, end: e.responseEnd}))""")
                api = [e for e in entries if "/api/" in e["name"] or "/auth/" in e["name"]]
                if api:
                    first_api = min(e["start"] for e in api)
                    query = [e["end"] - e["start"] for e in api if e["name"].endswith("/query")]
                    timings.append((first_api, query[0] if query else 0.0))
                context.close()
                static = sum(e["size"] for e in entries if "/ui/static/" in e["name"] or e["name"].rstrip("/") in (url, base))
                return elapsed, static, sum(e["size"] for e in entries), len(entries)

            def explore_ready(page):
                page.get_by_role("article", name="Comment").get_by_text("Comment 1 of").wait_for()

            timings: list[tuple[float, float]] = []
            first_load(explore, explore_ready)  # warm the server (and its caches), not the browser
            timings.clear()
            loads = [first_load(explore, explore_ready) for _ in range(5)]
            elapsed = sorted(x[0] for x in loads)
            _, static, total, count = loads[-1]
            print(f"first load of Explore ({args.n:,} comments), empty browser cache, warm server: "
                  f"median {ms(statistics.median(elapsed))} (of 5: {', '.join(ms(x) for x in elapsed)}); "
                  f"{count} requests, {static / 1024:.1f} kB of page and assets, {total / 1024:.1f} kB in all")
            print("  of which: first API request sent after "
                  f"{statistics.median(t[0] for t in timings):.0f} ms (shell and modules loaded), "
                  f"the query request took {statistics.median(t[1] for t in timings):.0f} ms (medians)")
            ds_loads = sorted(first_load(f"{base}/ui", lambda pg: pg.get_by_role("row", name=f"{project} triage").get_by_text(f"{args.n:,}").first.wait_for())[0]
                              for _ in range(3))
            print(f"first load of the datasets page (counts over {args.n:,} comments): median {ms(statistics.median(ds_loads))}")

            context, page = signed_in_page()
            page.goto(explore)
            explore_ready(page)
            detail = page.get_by_role("article", name="Comment")
            steps = []
            for i in range(2, 22):
                t = time.perf_counter()
                page.keyboard.press("j")
                detail.get_by_text(f"Comment {i} of").wait_for()
                steps.append(time.perf_counter() - t)
            print(f"next comment (j), 20 times: median {ms(statistics.median(steps))}, max {ms(max(steps))}")
            t = time.perf_counter()
            page.keyboard.press("1")
            page.get_by_role("list", name="Labels").get_by_role("button", name="Remove label Card", exact=True).wait_for()
            print(f"apply label 1 by key press, until the page shows it: {ms(time.perf_counter() - t)}")

            def timed_query(description, change):
                change()
                t = time.perf_counter()
                with page.expect_response(lambda r: r.url.endswith(("/query", "/search"))):
                    page.get_by_role("button", name="Show comments").click()
                detail.get_by_text("Comment 1 of").wait_for()
                print(f"Explore, {description}: {ms(time.perf_counter() - t)}")

            timed_query("recent", lambda: page.get_by_label("Mode").select_option("recent"))
            timed_query("shuffle", lambda: page.get_by_label("Mode").select_option("sample"))
            timed_query("unreviewed only, recent", lambda: (page.get_by_label("Mode").select_option("recent"),
                                                             page.get_by_label("Reviewed").select_option("only_unreviewed")))
            timed_query("user property filter string:Channel = phone", lambda: (
                page.get_by_label("User property").fill("string:Channel"), page.get_by_label("Property value").fill("phone")))
            timed_query("keyword search 'card arrive'", lambda: page.get_by_label("Search", exact=True).fill("card arrive"))
            t = time.perf_counter()
            page.get_by_label("Search", exact=True).fill("")
            page.get_by_label("User property").fill("")
            context.close()
            browser.close()


if __name__ == "__main__":
    main()
