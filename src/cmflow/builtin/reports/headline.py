"""The KPIs a report's summary shows when its output names none (apart from the document, so
that checking a workflow does not load it)."""

HEADLINE_METRICS = ("followers", "follower_growth", "engagement_rate_by_reach", "engagement_rate_by_followers",
                    "total_reach", "total_impressions", "total_interactions", "posts_published")
"""The KPIs a summary shows when the report names none, in this order (those the run has)."""
