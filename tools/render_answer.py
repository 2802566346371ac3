"""Render the embed the bot sends for a question to docs/answer.png (HTML in headless
Chromium), for the README and docs/discord.md.
Usage: python tools/render_answer.py "QUESTION" [out.png]"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.config import Settings
from bot.discord_app.format import answer_embed
from bot.service import open_answerer

CSS = """
body { background:#313338; margin:0; padding:24px; font-family: 'DejaVu Sans', sans-serif;
       color:#dbdee1; width:760px; }
.msg { display:flex; gap:16px; } .avatar { width:40px; height:40px; border-radius:50%;
       background:#5865f2; color:white; display:flex; align-items:center;
       justify-content:center; font-weight:bold; flex:none; }
.name { color:#f2f3f5; font-weight:600; } .tag { background:#5865f2; color:white;
       font-size:10px; border-radius:3px; padding:1px 4px; margin-left:4px; }
.embed { margin-top:6px; background:#2b2d31; border-left:4px solid #5865f2;
         border-radius:4px; padding:10px 16px 14px 12px; max-width:640px; }
.title { color:#f2f3f5; font-weight:600; margin:4px 0 8px; }
.field-name { color:#f2f3f5; font-weight:600; font-size:14px; margin-top:10px; }
.field-value { font-size:14px; line-height:1.4; border-left:3px solid #4e5058;
               padding-left:10px; margin-top:4px; } b { color:#f2f3f5; }
.footer { font-size:12px; color:#b5bac1; margin-top:12px; }
.buttons { margin-top:8px; display:flex; gap:8px; } .btn { background:#4e5058; color:white;
           border-radius:3px; padding:6px 14px; font-size:14px; } .primary { background:#5865f2; }
"""


def markdown(text: str) -> str:
    text = html.escape(re.sub(r"^> ", "", text))
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text, flags=re.S)
    return text.replace("\\", "")


def page(question: str) -> str:
    answerer, _ = open_answerer(Settings())
    answer = answerer.ask(question)
    embed = answer_embed(answer, []).to_dict()
    fields = "".join(
        f'<div class="field-name">{html.escape(f["name"])}</div>'
        f'<div class="field-value">{markdown(f["value"])}</div>'
        for f in embed.get("fields", []))
    more = '<span class="btn">More excerpts</span>' if answer.has_more else ""
    return f"""<html><head><meta charset="utf-8"><style>{CSS}</style></head><body>
<div class="msg"><div class="avatar">AB</div><div><span class="name">ArticleBot</span>
<span class="tag">APP</span>
<div class="embed"><div class="title">{html.escape(embed["title"])}</div>{fields}
<div class="footer">{html.escape(embed.get("footer", {}).get("text", ""))}</div></div>
<div class="buttons">{more}<span class="btn">👍</span>
<span class="btn">👎</span><span class="btn primary">Follow up in thread</span></div>
</div></div></body></html>"""


def main() -> None:
    question = sys.argv[1] if len(sys.argv) > 1 else "How much revenue did TikTok make?"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/answer.png").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "answer.html"
        source.write_text(page(question), encoding="utf-8")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", f"--user-data-dir={tmp}/profile",
                        "--hide-scrollbars", "--window-size=820,430",
                        f"--screenshot={out}", source.as_uri()],
                       check=True, capture_output=True, timeout=60)
    print(out)


if __name__ == "__main__":
    main()
