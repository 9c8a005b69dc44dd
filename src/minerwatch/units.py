"""Unit constants used across minerwatch (names say what they convert)."""

SAT_PER_BTC = 100_000_000
SECONDS_PER_DAY = 86_400
MINUTES_PER_DAY = 1_440
HS_PER_PHS = 1e15  # 1 PH/s in H/s
HS_PER_EHS = 1e18  # 1 EH/s in H/s
HS_PER_THS = 1e12  # 1 TH/s in H/s
#: Most BTC that can ever exist (Bitcoin Core ``MAX_MONEY``): a bound on any amount.
MAX_MONEY_BTC = 21_000_000
HOURS_PER_DAY = 24
W_PER_KW = 1_000
THS_PER_PHS = 1_000  # 1 PH/s in TH/s
JOULES_PER_KWH = 3.6e6
#: kWh drawn in one day by one W of continuous load: 24 h / 1000 W/kW. A machine of e J/TH
#: (= W per TH/s) draws e * 0.024 kWh per TH/s per day.
KWH_PER_W_DAY = HOURS_PER_DAY / W_PER_KW
