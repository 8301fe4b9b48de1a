"""A day's stories (eight, or as many as the first argument says) as JSON lines for
`herald story import`, with real-sized summaries: `python3 benches/stories.py [COUNT] > stories.jsonl`."""
import datetime
import json
import sys

now = datetime.datetime.now(datetime.timezone.utc)
summary = ("The council voted late on Friday to approve a budget that shifts money from road repairs "
           "to schools, after a debate that ran past midnight and drew hundreds of residents. ") * 3
count = int(sys.argv[1]) if len(sys.argv) > 1 else 8
for i in range(count):
    print(json.dumps({"url": f"https://news.example.org/2026/story-{i}", "title": f"Story {i}: what the budget vote means for the city",
                      "summary": summary, "author": "Kim Lee", "score": 100 - i,
                      "section": "blog" if i >= 6 else "news",
                      "published_at": (now - datetime.timedelta(hours=i + 1)).isoformat()}))
