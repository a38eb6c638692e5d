"""Reports over the warehouse: the daily standup and the weekly digest (issue 7).

build.py gathers a report from the SQL of sql/ (data.py runs it on whatever subset of the warehouse
exists), render.py writes it as Markdown and Slack Block Kit, calendar.py knows business days and
time zones, store.py keeps reports in marts.standups, post.py posts them idempotently, summary.py
adds an optional AI paragraph, standup.py ties these together. No Prefect here: tasks/standup.py
and flows/standup.py run them on a schedule.
"""
