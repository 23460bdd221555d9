#!/usr/bin/env python3
"""Writes the Luma demo data (crm-contacts.csv, loyalty.csv, web-history.jsonl) into this folder.

Deterministic: the same output on every run (a fixed random seed, fixed dates), so the files are
committed and `cargo xtask demo` imports them as they are. Every person is fictional: emails are
at example.com, phone numbers are in ranges set aside for fiction (+1 415 555 01xx in the US,
+44 7700 900xxx in the UK).

    python3 demo-data/generate.py
"""

import csv
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
CUSTOMERS = 1000
rng = random.Random(20261129)

FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Felix", "Grace", "Hugo", "Iris", "Jonah", "Kira", "Leo",
         "Maya", "Noah", "Olive", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wes", "Yara", "Zoe",
         "Amir", "Bea", "Caleb", "Dina", "Emil", "Farah", "Gus", "Hana", "Ivan", "June", "Kofi", "Lena", "Milo",
         "Nina", "Omar", "Pia", "Rafe", "Sofia", "Theo", "Uma", "Vik", "Wren", "Xena", "Yusuf", "Zara"]
LAST = ["Abbott", "Banks", "Castillo", "Dawson", "Ellis", "Fischer", "Garcia", "Hale", "Ibarra", "Jensen",
        "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Patel", "Quintero", "Rossi", "Silva", "Tanaka",
        "Underwood", "Varga", "Whitfield", "Xu", "Young", "Zielinski", "Adeyemi", "Brennan", "Chen", "Duarte"]
CITIES = [("San Francisco", "US", "941"), ("Portland", "US", "972"), ("Denver", "US", "802"),
          ("Austin", "US", "787"), ("Boston", "US", "021"), ("Seattle", "US", "981"), ("London", "GB", "N1"),
          ("Manchester", "GB", "M1"), ("Toronto", "CA", "M5V"), ("Melbourne", "AU", "3000")]
SIZES = ["XS", "S", "M", "L", "XL"]
CATEGORIES = ["women", "men", "gear", "training"]
TIERS = [("Bronze", 50), ("Silver", 30), ("Gold", 15), ("Platinum", 5)]
NOW = datetime(2026, 11, 29, tzinfo=timezone.utc)


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def contacts():
    rows = [
        ["crm-1042", "sarah.rose@example.com", "Sarah", "Rose", "+1 415 555 0142", "San Francisco", "US", "94110",
         "1991-04-12", "S", "women", "2026-06-01T09:30:00Z"],
        ["crm-2077", "bob.carter@example.com", "Bob", "Carter", "+1 415 555 0177", "Portland", "US", "97205",
         "1986-09-23", "L", "men", "2026-05-14T16:05:00Z"],
    ]
    for i in range(CUSTOMERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, country, postal = rng.choice(CITIES)
        if country == "US":
            postal += f"{rng.randrange(100):02d}"
        phone = f"+44 7700 900{i:03d}" if rng.random() < 0.85 else ""
        born = datetime(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        updated = NOW - timedelta(days=rng.randrange(30, 700), minutes=rng.randrange(1440))
        rows.append([f"crm-{30001 + i}", f"{first}.{last}.{30001 + i}@example.com".lower(), first, last, phone,
                     city, country, postal, born.strftime("%Y-%m-%d"), rng.choice(SIZES), rng.choice(CATEGORIES),
                     stamp(updated)])
    return rows


def loyalty(contact_rows):
    rows = [["LY-778", "crm-1042", "Bronze", "1240", "2026-11-02T08:00:00Z"]]
    for n, row in enumerate(contact_rows[2:]):
        if rng.random() < 0.6:
            tier = rng.choices([t for t, _ in TIERS], weights=[w for _, w in TIERS])[0]
            points = rng.randrange({"Bronze": 0, "Silver": 2500, "Gold": 7500, "Platinum": 20000}[tier],
                                   {"Bronze": 2500, "Silver": 7500, "Gold": 20000, "Platinum": 60000}[tier])
            updated = NOW - timedelta(days=rng.randrange(1, 120), minutes=rng.randrange(1440))
            rows.append([f"LY-{5001 + n}", row[0], tier, str(points), stamp(updated)])
    return rows


# Sarah's women's clothing, always size S.
PRODUCTS = [
    ("WT-BRZ-01", "Breeze Tee", "women/tees", 32),
    ("WT-SUM-02", "Summit Tech Tee", "women/tees", 36),
    ("WP-TNK-03", "Breathe-Easy Tank", "women/tops", 34),
    ("WP-HZN-04", "Horizon Half-Zip", "women/tops", 54),
    ("WL-FLX-05", "Flex Run Leggings", "women/leggings", 62),
    ("WJ-WND-06", "Windbreak Jacket", "women/jackets", 98),
    ("WS-TRL-07", "Trail Shorts", "women/shorts", 40),
]


def history():
    events = []
    start = NOW - timedelta(days=360)
    for n in range(36):
        at = start + timedelta(days=n * 10 + rng.randrange(8), hours=rng.randrange(8, 21), minutes=rng.randrange(60))
        items = []
        for sku, name, category, price in rng.sample(PRODUCTS, rng.choice([1, 1, 2, 3])):
            qty = rng.choice([1, 1, 1, 2])
            items.append({"SKU": f"{sku}-S", "name": name, "quantity": qty, "priceTotal": price * qty,
                          "currencyCode": "USD", "productCategories": [{"categoryID": category}],
                          "_luma": {"size": "S", "category": category.split("/")[0]}})
        events.append({
            "_id": f"luma-order-{10420 + n}",
            "eventType": "commerce.purchases",
            "timestamp": stamp(at),
            "identityMap": {"CRMID": [{"id": "crm-1042", "authenticatedState": "authenticated", "primary": True}]},
            "commerce": {"purchases": {"value": 1},
                         "order": {"purchaseID": f"LUMA-{10420 + n}", "currencyCode": "USD",
                                   "priceTotal": sum(i["priceTotal"] for i in items)}},
            "productListItems": items,
        })
    return events


def write_csv(name, header, rows):
    with open(HERE / name, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    crm = contacts()
    write_csv("crm-contacts.csv", ["crm_id", "email", "first_name", "last_name", "phone", "city", "country",
                                   "postal_code", "birth_date", "preferred_size", "preferred_category",
                                   "updated_at"], crm)
    write_csv("loyalty.csv", ["loyalty_id", "crm_id", "tier", "points", "updated_at"], loyalty(crm))
    with open(HERE / "web-history.jsonl", "w", encoding="utf-8") as f:
        for e in history():
            f.write(json.dumps(e, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
