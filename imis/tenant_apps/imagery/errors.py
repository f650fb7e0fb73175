"""Error codes of the imagery services (ValidationError.code)."""

NOT_GEOTIFF = "not_geotiff"
NO_GEOREFERENCE = "no_georeference"
OUTSIDE = "outside_municipality"
TOO_BIG = "too_big"
BAD_URL = "bad_url_template"
CONVERSION = "conversion_failed"
