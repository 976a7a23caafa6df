"""The miners' side: kiosk and phone pages, the rating API and the vote's rules, QR tokens,
rate limits, rollups, and what the canteen did with the votes."""
