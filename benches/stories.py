"""A day's eight stories as JSON lines for `herald story import`, with real-sized summaries:
`python3 benches/stories.py > stories.jsonl`."""
import datetime
import json

now = datetime.datetime.now(datetime.timezone.utc)
summary = ("The council voted late on Friday to approve a budget that shifts money from road repairs "
           "to schools, after a debate that ran past midnight and drew hundreds of residents. ") * 3
for i in range(8):
    print(json.dumps({"url": f"https://news.example.org/2026/story-{i}", "title": f"Story {i}: what the budget vote means for the city",
                      "summary": summary, "author": "Kim Lee", "score": 100 - i,
                      "section": "blog" if i >= 6 else "news",
                      "published_at": (now - datetime.timedelta(hours=i + 1)).isoformat()}))
