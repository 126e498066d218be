from marshmallow import ValidationError, fields, post_dump

from ..vocabulary import DATASET_FLAGS, ENTITY_DEF_FLAGS, MODEL_CONFIG_KINDS
from .fields import Schema, StrictBoolean, String, StringList, UTCDateTime, one_of

def _drop_unset(data: dict, keys) -> dict:
    """Optional keys are sent only when set: the client refuses "" for some of them."""
    for key in keys:
        if data.get(key) is None:
            data.pop(key, None)
    return data


# --- responses ------------------------------------------------------------------------

class PretrainedSchema(Schema):
    id = String()
    name = String()


class MoonFormFieldSchema(Schema):
    name = String()
    kind = String()
    instructions = String()


class LabelDefSchema(Schema):
    name = String()
    title = String()
    instructions = String()
    external_id = String()
    pretrained = fields.Nested(PretrainedSchema)
    moon_form = fields.List(fields.Nested(MoonFormFieldSchema))

    @post_dump
    def _omit_unset(self, data, **kwargs):
        return _drop_unset(data, ("external_id", "pretrained", "moon_form"))


class LabelGroupSchema(Schema):
    name = String()
    label_defs = fields.List(fields.Nested(LabelDefSchema))


class EntityDefSchema(Schema):
    id = String()
    name = String()
    title = String()
    inherits_from = StringList()
    trainable = fields.Boolean()
    color = fields.Integer()
    entity_def_flags = StringList(data_key="_entity_def_flags")
    rules = fields.Dict()
    instructions = String()

    @post_dump
    def _omit_unset(self, data, **kwargs):
        return _drop_unset(data, ("rules", "instructions"))


class GeneralFieldSchema(Schema):
    api_name = String()
    field_type_id = String()
    field_type_name = String()

    @post_dump
    def _omit_unset(self, data, **kwargs):
        return _drop_unset(data, ("field_type_id", "field_type_name"))


class DatasetSchema(Schema):
    id = String()
    owner = String()
    name = String()
    title = String()
    description = String()
    created_at = UTCDateTime(data_key="created")
    updated_at = UTCDateTime(data_key="last_modified")
    model_family = String()
    source_ids = StringList()
    has_sentiment = fields.Boolean()
    entity_defs = fields.List(fields.Nested(EntityDefSchema))
    general_fields = fields.List(fields.Nested(GeneralFieldSchema))
    label_defs = fields.List(fields.Nested(LabelDefSchema))
    label_groups = fields.List(fields.Nested(LabelGroupSchema))
    dataset_flags = StringList(data_key="_dataset_flags")
    model_config = fields.Dict(data_key="_model_config")
    labelf_model_id = fields.Integer(data_key="_labelf_model_id")

    @post_dump
    def _omit_unset(self, data, **kwargs):
        return _drop_unset(data, ("_model_config",))


# --- requests -------------------------------------------------------------------------

class NewPretrained(Schema):
    id = String(required=True)
    name = String()


class MoonFormField(Schema):
    name = String(required=True)
    kind = String(required=True)
    instructions = String(load_default="")


class NewLabelDef(Schema):
    name = String(required=True)
    title = String()
    instructions = String()
    external_id = String(allow_none=True)
    pretrained = fields.Nested(NewPretrained, allow_none=True)
    trainable = StrictBoolean()
    moon_form = fields.List(fields.Nested(MoonFormField), allow_none=True)


class NewLabelGroup(Schema):
    name = String(required=True)
    label_defs = fields.List(fields.Nested(NewLabelDef), load_default=list)


class NewFieldChoice(Schema):
    name = String(required=True)
    values = StringList(required=True)


def _validate_regex(value):
    """The client reads `regex` as `{pattern}` or `{templates: [{template, pattern}]}`."""
    if isinstance(value, dict) and set(value) == {"pattern"} and isinstance(value["pattern"], str):
        return
    templates = value.get("templates") if isinstance(value, dict) else None
    if (
        isinstance(value, dict)
        and set(value) == {"templates"}
        and isinstance(templates, list)
        and all(
            isinstance(t, dict)
            and set(t) == {"template", "pattern"}
            and all(isinstance(v, str) for v in t.values())
            for t in templates
        )
    ):
        return
    raise ValidationError(
        'Expected {"pattern": "..."} or {"templates": [{"template": "...", "pattern": "..."}]}.'
    )


class NewEntityRules(Schema):
    suppressors = StringList(load_default=list)
    choices = fields.List(fields.Nested(NewFieldChoice), load_default=list)
    regex = fields.Raw(allow_none=True, load_default=None, validate=_validate_regex)


class NewEntityDef(Schema):
    name = String(required=True)
    title = String(required=True)
    inherits_from = StringList(required=True)
    trainable = StrictBoolean(required=True)
    entity_def_flags = fields.List(
        String(validate=one_of(ENTITY_DEF_FLAGS)), data_key="_entity_def_flags"
    )
    rules = fields.Nested(NewEntityRules, allow_none=True)
    instructions = String(allow_none=True)


class NewGeneralField(Schema):
    api_name = String(required=True)
    field_type_id = String(allow_none=True)
    field_type_name = String(allow_none=True)


class ModelConfig(Schema):
    kind = String(required=True, validate=one_of(MODEL_CONFIG_KINDS))


class DatasetUpdate(Schema):
    title = String()
    description = String()
    # Our extension; checked by the service like NewDataset's. A change retrains.
    model_family = String()
    source_ids = StringList()
    entity_defs = fields.List(fields.Nested(NewEntityDef))
    model_config = fields.Nested(ModelConfig, allow_none=True, data_key="_model_config")


class NewDataset(Schema):
    title = String()
    description = String()
    source_ids = StringList()
    has_sentiment = StrictBoolean()
    # Checked by the service: the client's tests expect the bare "is not one of" message.
    model_family = String()
    label_defs = fields.List(fields.Nested(NewLabelDef))
    label_groups = fields.List(fields.Nested(NewLabelGroup))
    entity_defs = fields.List(fields.Nested(NewEntityDef))
    general_fields = fields.List(fields.Nested(NewGeneralField))
    copy_annotations_from = String(allow_none=True)
    dataset_flags = fields.List(String(validate=one_of(DATASET_FLAGS)), data_key="_dataset_flags")


class NewDatasetRequest(Schema):
    dataset = fields.Nested(NewDataset, required=True)


class DatasetUpdateRequest(Schema):
    dataset = fields.Nested(DatasetUpdate, required=True)


class LabelDefsRequest(Schema):
    label_defs = fields.List(fields.Nested(NewLabelDef), required=True)
