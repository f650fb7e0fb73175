"""How survey fields load: a submission's XML and answer blobs are never read by the API's lists."""

from ..optimizer import register_loader
from . import types

# Keys that are no GraphQL field: these columns are always left out of the SQL.
register_loader(types.SurveySubmissionType, heavy={"_xml": "xml", "_values": "values", "_edits": "edits",
                                                   "_applied": "applied"})
