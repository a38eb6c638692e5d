"""Word lists and sentence templates for the sandbox world generator.

Data only. Templates use ``str.format`` fields; which fields a template may use is stated above
each list. Ticket titles and chat text are built from the same components and symptoms but from
different phrasings, so a matcher has to recognise a paraphrase rather than an exact title.
"""
from __future__ import annotations

# (company name, slug): the slug is the Slack domain, the Linear org and the GitHub org.
COMPANIES = (
    ("Northwind Labs", "northwind"),
    ("Acme Robotics", "acme"),
    ("Bluefin Analytics", "bluefin"),
    ("Copperleaf", "copperleaf"),
    ("Helio Systems", "helio"),
    ("Tidewater Software", "tidewater"),
)

# Always present, so that every world (even "tiny") has non-ASCII names: (real name, handle).
FIXED_PEOPLE = (("Zoë Martin", "zoe.martin"), ("José Fernández", "jose.fernandez"), ("李雷", "li.lei"))

FIRST_NAMES = (
    "Amara", "Liam", "Priya", "Mateo", "Chloé", "Björn", "Aiko", "Noah", "Fatima", "Olivia",
    "Kwame", "Sofia", "Ethan", "Léa", "Hiro", "Maya", "Arjun", "Elena", "Omar", "Grace", "Lucas",
    "Nadia", "Jonas", "Ingrid", "Diego", "Mei", "Tomás", "Anaïs", "Sven", "Yara", "Felix", "Leila",
    "Marcus", "Hannah", "Ravi", "Isabel", "Kenji", "Chiara", "Dmitri", "Ana",
)
LAST_NAMES = (
    "García", "Okafor", "Müller", "Nakamura", "Patel", "Kowalski", "Haddad", "O'Brien", "Silva",
    "Andersson", "Nguyen", "Dubois", "Rossi", "Kim", "Cohen", "Mensah", "Ivanova", "Costa",
    "Schmidt", "Takahashi", "Novak", "Larsen", "Brennan", "Yilmaz", "Moreau", "Singh",
)
JOB_TITLES = (
    "Backend Engineer", "Frontend Engineer", "Site Reliability Engineer", "Product Manager",
    "Designer", "Data Engineer", "Engineering Manager", "Support Lead", "QA Engineer",
    "Staff Engineer", "Data Scientist", "Head of Product",
)
# (IANA zone, Slack tz_label, offset in seconds on the world's fixed date in November)
TIMEZONES = (
    ("America/Los_Angeles", "Pacific Standard Time", -28800),
    ("America/New_York", "Eastern Standard Time", -18000),
    ("Europe/London", "Greenwich Mean Time", 0),
    ("Europe/Paris", "Central European Time", 3600),
    ("Europe/Madrid", "Central European Time", 3600),
    ("Asia/Kolkata", "India Standard Time", 19800),
    ("Asia/Shanghai", "China Standard Time", 28800),
    ("Asia/Tokyo", "Japan Standard Time", 32400),
)

# Linear team keys and names; a world uses the first three or all four.
TEAMS = (("ENG", "Engineering"), ("WEB", "Web"), ("OPS", "Platform Ops"), ("DATA", "Data"))

# Per team: (component as written in tickets, ways people say it in chat, topic words).
COMPONENTS = {
    "ENG": (
        ("invoice generator", ("invoicing job", "the invoice PDFs", "invoice service"), ("invoice", "pdf")),
        ("payment webhook handler", ("stripe webhooks", "the payments hook", "webhook consumer"),
         ("payment", "webhook")),
        ("auth token refresh", ("token refresh", "the refresh flow", "login sessions"), ("auth", "token", "session")),
        ("search indexer", ("indexing worker", "search", "the indexer"), ("search", "index")),
        ("API rate limiter", ("throttling", "the limiter middleware", "429 handling"), ("rate", "limit", "throttle")),
        ("notification service", ("notifications", "the email sender", "push notifications"),
         ("notification", "email")),
        ("export API", ("CSV export endpoint", "exports", "the export job"), ("export", "csv")),
        ("permissions model", ("RBAC", "role checks", "access control"), ("permission", "role")),
        ("webhook retry queue", ("outbound webhooks", "the retry queue", "webhook deliveries"), ("webhook", "queue")),
        ("audit log writer", ("audit trail", "audit events", "the audit table"), ("audit", "log")),
    ),
    "WEB": (
        ("checkout page", ("checkout", "the pay screen", "checkout flow"), ("checkout", "cart")),
        ("settings page", ("account settings", "the prefs screen", "settings"), ("settings", "account")),
        ("onboarding wizard", ("onboarding", "the signup steps", "first-run flow"), ("onboarding", "signup")),
        ("dashboard charts", ("the charts", "dashboard graphs", "usage graphs"), ("dashboard", "chart")),
        ("mobile navigation menu", ("the hamburger menu", "mobile nav", "nav drawer"), ("mobile", "navigation")),
        ("date picker component", ("the date picker", "calendar widget", "date input"), ("date", "picker")),
        ("file upload widget", ("uploads", "the drag and drop uploader", "attachment upload"), ("upload", "file")),
        ("design system buttons", ("our buttons", "button styles", "the DS button"), ("button", "design")),
    ),
    "OPS": (
        ("CI pipeline", ("CI", "the build", "GitHub Actions runners"), ("ci", "build", "pipeline")),
        ("Postgres primary", ("the main DB", "postgres", "the primary database"), ("postgres", "database")),
        ("Kubernetes autoscaler", ("autoscaling", "the HPA", "cluster scaling"), ("kubernetes", "autoscaler")),
        ("log shipping", ("logs", "the log pipeline", "Loki ingestion"), ("logs", "shipping")),
        ("TLS certificates", ("certs", "cert renewal", "the TLS setup"), ("tls", "certificate")),
        ("nightly backup job", ("backups", "the backup cron", "DB snapshots"), ("backup", "snapshot")),
        ("staging environment", ("staging", "the staging cluster", "preprod"), ("staging", "environment")),
        ("Terraform modules", ("terraform", "our infra code", "the tf modules"), ("terraform", "infra")),
    ),
    "DATA": (
        ("nightly ETL", ("the ETL", "overnight loads", "the nightly sync"), ("etl", "nightly")),
        ("events warehouse", ("the warehouse", "event tables", "analytics DB"), ("warehouse", "events")),
        ("churn model", ("churn predictions", "the churn scores", "retention model"), ("churn", "model")),
        ("revenue dashboard", ("the revenue report", "MRR dashboard", "finance dashboard"), ("revenue", "dashboard")),
        ("dbt models", ("dbt", "the staging models", "our marts"), ("dbt", "models")),
        ("Kafka consumer", ("the consumer group", "kafka ingestion", "event consumer"), ("kafka", "consumer")),
    ),
}

# Bugs, features and chores: (as written in a ticket title, ways people say it in chat, the teams
# whose components it fits).
SYMPTOMS = (
    ("timeouts", ("keeps timing out", "hangs for ~30s and then dies", "times out under load"), "ENG WEB OPS DATA"),
    ("wrong totals", ("shows the wrong totals", "has numbers that are off by a bit", "gets the math wrong again"),
     "ENG WEB DATA"),
    ("memory leak", ("eats memory until it gets OOM-killed", "keeps growing its RSS all day", "got OOM-killed again"),
     "ENG OPS DATA"),
    ("duplicate records", ("is creating duplicates", "gave us every row twice", "writes double entries again"),
     "ENG DATA"),
    ("crash on empty input",
     ("blows up when the list is empty", "500s on an empty payload", "crashes with nothing selected"), "ENG WEB DATA"),
    ("race condition",
     ("fails randomly, smells like a race", "is flaky when two requests land together",
      "breaks only under concurrency"), "ENG OPS DATA"),
    ("slow queries", ("is super slow today", "has a p95 that went through the roof", "takes forever to finish"),
     "ENG OPS DATA"),
    ("slow page loads", ("takes forever to load", "is sluggish on first paint", "spins for ages"), "WEB"),
    ("broken layout on Safari", ("looks broken in Safari", "is all over the place on iOS", "renders weird on WebKit"),
     "WEB"),
    ("missing translations", ("shows raw i18n keys", "isn't translated for FR and ES", "has untranslated strings"),
     "WEB"),
    ("accessibility issues", ("isn't usable with a screen reader", "has no focus states", "fails the a11y audit"),
     "WEB"),
    ("stale cache", ("serves stale data", "doesn't pick up changes until a restart", "shows yesterday's values"),
     "ENG WEB DATA"),
    ("unicode handling", ("mangles accented names", "chokes on emoji", "breaks on non-latin characters"),
     "ENG WEB DATA"),
    ("retry storm", ("hammers the upstream when it fails", "retries forever", "floods us with retries"),
     "ENG OPS DATA"),
    ("flaky failures", ("fails every other run", "is flaky again", "goes red randomly"), "OPS"),
    ("disk filling up", ("is filling the disk", "ran out of disk overnight", "is triggering disk alerts again"), "OPS"),
)
FEATURES = (
    ("CSV export", ("a way to download this as CSV", "spreadsheet export", "an export button"), "ENG WEB DATA"),
    ("bulk edit", ("editing many rows at once", "multi-select edit", "bulk actions"), "ENG WEB"),
    ("audit history", ("a history of who changed what", "change tracking", "an activity log"), "ENG WEB"),
    ("retry with backoff", ("automatic retries", "backoff on failures", "a smarter retry"), "ENG OPS DATA"),
    ("SSO login", ("Okta login", "single sign-on", "SAML"), "ENG WEB"),
    ("keyboard shortcuts", ("hotkeys", "shortcuts for power users", "keyboard navigation"), "WEB"),
    ("usage alerts", ("alerts when usage spikes", "a heads-up before we hit limits", "usage notifications"),
     "ENG OPS DATA"),
    ("dark mode", ("a dark theme", "dark mode please", "night mode"), "WEB"),
    ("saved filters", ("saving my filters", "filter presets", "remembered filters"), "WEB DATA"),
    ("webhook signatures", ("signed webhooks", "HMAC on webhooks", "payload signing"), "ENG"),
    ("queue-based autoscaling", ("scaling on queue depth", "smarter autoscaling", "scaling rules"), "OPS"),
    ("incremental loads", ("only loading what changed", "incremental syncs", "delta loads"), "DATA"),
    ("cost breakdowns", ("a view of what this costs us", "spend per team", "cost reports"), "OPS DATA"),
)
CHORES = (
    ("upgrade to Python 3.12", ("move to 3.12", "do the python bump", "get off 3.9 finally"), "ENG OPS DATA"),
    ("migrate to Postgres 16", ("do the PG16 move", "upgrade postgres", "finish the database upgrade"), "ENG OPS DATA"),
    ("remove legacy v1 endpoints", ("kill the old v1 API", "drop v1", "delete the legacy routes"), "ENG"),
    ("add metrics and dashboards", ("get better observability", "add some grafana panels", "get proper metrics"),
     "ENG OPS DATA"),
    ("bump dependencies", ("do the dependency update", "clear the renovate backlog", "update outdated packages"),
     "ENG WEB OPS DATA"),
    ("split into smaller services", ("break it up", "carve it out of the monolith", "do the split"), "ENG"),
    ("upgrade to React 19", ("do the React bump", "move to React 19", "finish the framework upgrade"), "WEB"),
    ("migrate to the new design tokens",
     ("do the token migration", "move to the new DS colors", "finish the theming cleanup"), "WEB"),
    ("move to spot instances", ("switch to spot", "cut the EC2 bill with spot", "finish the spot migration"), "OPS"),
    ("backfill historical data", ("backfill the old data", "reload the history", "fill the gaps from last year"),
     "DATA"),
)

# Ticket titles. Fields: {component}, {symptom}, {feature}, {chore} (title phrasings).
BUG_TITLES = ("Fix {symptom} in {component}", "{Component}: {symptom}", "{Symptom} in {component} under load")
FEATURE_TITLES = ("Add {feature} to {component}", "Support {feature} in {component}", "{Component}: {feature}")
CHORE_TITLES = ("{Chore} for {component}", "{Component}: {chore}")

# Ticket descriptions, by kind. Fields: {alias}, {detail} (a chat phrasing), {customer}.
DESCRIPTION_OPENERS = {
    "bug": ("Reported by {customer}: {alias} {detail}.", "We noticed that {alias} {detail}.",
            "Context: {customer} raised this in the last review, {alias} {detail}."),
    "feature": ("{customer} asked for {detail} in {alias}.", "Several customers want {detail} for {alias}."),
    "chore": ("We need to {detail} for {alias}.", "Tech debt: {detail} for {alias} before the next release."),
}
# Fields: {component}.
DESCRIPTION_BODIES = (
    "Acceptance criteria:\n- reproduced in a test\n- fixed behind a flag\n- verified on staging",
    "Steps: look at the logs from the last week, write a failing test, then fix it.",
    "This blocks the next release of the {component}. Link the PR here when it is up.",
    "Estimate is rough; split it if it grows beyond a couple of days.",
)
# Drawn once per topic and appended to its ticket title (and said in some chat about bugs): colour,
# not identity; two topics differ in component or problem.
QUALIFIERS = ("", "", "", " for EU customers", " on large accounts", " after the v2 migration",
              " for enterprise workspaces")
CUSTOMERS = ("Globex", "Initech", "Umbrella Corp", "Soylent", "Hooli", "Stark Industries", "Wayne Enterprises",
             "Vandelay Imports")

# Openers of a thread about a known ticket that only paraphrase it.
# Fields: {alias}, {problem}, {customer}, {since}, {ask}, {mention}.
PARAPHRASE_BUG = (
    "hey folks, {alias} {problem} {since}. {ask}",
    "{customer} says {alias} {problem}. {ask}",
    "Is it just me or {alias} {problem}? {since}",
    "{mention} {alias} {problem} {since}, can you take a look?",
    "heads up: {alias} {problem}. {ask}",
)
PARAPHRASE_FEATURE = (
    "{customer} is asking for {problem} in {alias}. Could we squeeze it into this cycle?",
    "would be great to have {problem} for {alias} :pray:",
    "{mention} any plans for {problem} in {alias}? {customer} keeps bringing it up",
    "Product question: how hard would {problem} be in {alias}?",
)
PARAPHRASE_CHORE = (
    "we really need to {problem} for {alias} before the end of the quarter",
    "who owns {problem}? {alias} is the last thing blocking it",
    "reminder: we still need to {problem} for {alias} :hourglass:",
)
# Openers that cite the ticket. Fields: {ident}, {title}, {url}, {mention}.
CITE_ID = (
    "Picking up {ident} today ({title})",
    "{ident} is blocked on review, {mention} can you take a look?",
    "Status on {ident}? Customers keep asking",
    "Moved {ident} to In Progress, PR coming this afternoon",
    "FYI {ident} turned out bigger than expected, will split it",
)
CITE_URL = (
    "Filed <{url}|{ident}> for this: {title}",
    "<{url}> :point_left: could use another pair of eyes",
    "Ticket is here {url}, let's keep the discussion in the thread",
)
# Sometimes appended to an opener about untracked work.
NO_TICKET_HINTS = ("Nothing filed yet.", "no ticket yet", "didn't want to file a ticket for something this small",
                   "not sure it's worth a ticket")
SINCE = ("since yesterday's deploy", "since this morning", "again", "for a few days now", "after the last release")
ASKS = ("anyone looking?", "any ideas?", "who owns this?", "can someone check?", "is this known?")

# Replies in a work thread. Fields: {mention}, {pr}, {repo}, {org}, {alias}.
WORK_REPLIES = (
    "On it 👀", "+1, seeing the same thing", "I can take a look after standup",
    "{mention} any idea?", "looks like it started after the last deploy",
    "I think that's expected, it's cached for 5 minutes", "can you share a screenshot?",
    "which customer?", "let's pair on it tomorrow", "thanks!", ":+1:",
    "opened <https://github.com/{org}/{repo}/pull/{pr}|#{pr}> for {alias}",
    "fixed in <https://github.com/{org}/{repo}/pull/{pr}|{repo}#{pr}>, deploying now :rocket:",
    "closing the loop: the fix is out, should be good now :white_check_mark:",
    "I'd rather not hotfix this, can it wait for Monday?",
    "repro steps: open {alias}, wait a minute, refresh. happens maybe 1 in 5 times",
    "adding a test for it first",
)
# Replies that only make sense in a thread about untracked work.
NEW_WORK_REPLIES = ("is there a ticket for this?", "no ticket yet, I'll just do it",
                    "let's not file it, it's a 10 minute fix")
# Social / not-work top-level messages. Fields: {mention}.
CHIT_CHAT = (
    "good morning! :sunny:", "Happy Friday everyone :tada:", "who's up for lunch? 🍜",
    "congrats {mention} on the launch! :clap:", "reminder: all-hands at 4pm <!channel>",
    "the coffee machine on the 3rd floor is fixed ☕", "Welcome {mention} to the team! 👋",
    "anyone watching the game tonight?", "¡Buenos días! ¿Qué tal el fin de semana?",
    "Ça va ? On se voit au standup.", "早上好！今天有人在办公室吗？", "OOO tomorrow, back on Monday",
    "thanks for the help earlier {mention} 🙏", "cake in the kitchen 🎂 <!here>",
    "check out this talk <https://example.com/talks/42|Scaling Postgres at 10x>",
    "I'm going to be a few minutes late to standup", "📣 office closed on Thursday for the holiday",
)
BOT_REPLIES = ("looking 👀", "ack", "this is the nightly batch again", "resolved itself, closing", "on it")
CHAT_REPLIES = ("haha", "🎉🎉", ":joy:", "same here", "count me in", "thank you!", "see you there", "❤️", "nice!", "👍")

# Bots. Fields: {service}, {env}, {version}, {build}, {alert}, {target}, {value}.
DEPLOY_MESSAGES = (
    "Deployed `{service}` {version} to {env} :rocket:",
    "Deploy of `{service}` to {env} failed :x: (<https://ci.example.com/builds/{build}|build #{build}>)",
    "Rolled back `{service}` on {env} to {version}",
)
ALERT_MESSAGES = (
    "[FIRING:1] {alert} {target} ({value})",
    "[RESOLVED] {alert} {target}",
)
SERVICES = ("api", "web", "worker", "billing", "search", "gateway")
ALERTS = (("HighErrorRate", "5.2% > 2%"), ("DiskPressure", "91% used"), ("LatencyP95", "1.8s > 800ms"),
          ("PodCrashLooping", "restarts=7"))
REPOS = ("api", "web", "infra", "data-pipelines")

# Long incident write-up paragraphs (the generator repeats them past 4,000 characters).
LONG_PARAGRAPHS = (
    "*Timeline (UTC)*: at 02:14 the error rate on the gateway crossed the alert threshold; at 02:19 "
    "on-call acknowledged; at 02:41 we rolled back the release and at 03:05 error rates were back to normal.",
    "*Root cause*: a configuration change shortened the connection pool timeout, so under the nightly "
    "batch load requests queued, timed out, and the retry policy multiplied the load on the database.",
    "*What went well*: the alert fired within two minutes and the rollback was a single command. "
    "*What went badly*: the runbook still pointed at the old dashboard and the status page was updated late.",
    "```Traceback (most recent call last):\n  File \"app/db.py\", line 88, in acquire\n"
    "    conn = pool.get(timeout=self.timeout)\n"
    "TimeoutError: QueuePool limit of size 20 overflow 10 reached, connection timed out, timeout 5.00```",
    "*Action items*: restore the previous timeout, add a load test for the nightly batch, cap retries "
    "with jittered backoff, and move the runbook links into the alert annotations.",
)

# Channels: (name, purpose, profile). Profiles pick the message mix (see slack_gen.MIXES).
CORE_CHANNELS = (
    ("general", "Company-wide announcements and work-based matters", "social"),
    ("eng", "Backend engineering", "team:ENG"),
    ("web-frontend", "Web app and design system", "team:WEB"),
    ("ops", "Infrastructure, CI and on-call", "team:OPS"),
    ("data", "Pipelines, dashboards and models", "team:DATA"),
    ("product", "Roadmap questions and feature requests", "requests"),
    ("incidents", "Alerts and active incidents", "alerts"),
    ("deploys", "Deploy notifications", "bots"),
    ("support-escalations", "Customer issues that need engineering", "requests"),
    ("random", "Non-work banter and water cooler conversation", "social"),
)
PRIVATE_CHANNELS = (("leadership", "Leads only", "social"), ("eng-oncall", "On-call handovers", "team:OPS"))
ARCHIVED_CHANNELS = (("proj-legacy-migration", "Moving off the legacy stack (done!)", "team:ENG"),)
EXTRA_CHANNEL_PREFIXES = ("proj", "team", "squad", "guild")
EXTRA_CHANNEL_WORDS = (
    "billing", "search", "mobile", "growth", "payments", "infra", "ml", "onboarding", "security",
    "perf", "reliability", "analytics", "api", "design", "docs", "pricing", "sso", "exports",
)
