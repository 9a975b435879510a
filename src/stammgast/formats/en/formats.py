"""English as the portal writes it for a European business: "3 Dec 2026", 24-hour times.

Django's "en" formats are American ("12/03/2026", "7:05 a.m."), which a German head office
reading the English portal takes for 12 March. Input formats stay Django's (ISO dates are
what the forms send).
"""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
FIRST_DAY_OF_WEEK = 1  # Monday
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
