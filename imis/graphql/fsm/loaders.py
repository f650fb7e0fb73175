"""How the FSM's GraphQL fields map to the ORM (see optimizer.py): relations joined or prefetched when selected,
geometry left out of the SQL unless asked for."""

from ..optimizer import register_loader
from . import types

register_loader(types.ServiceProviderType, relations={"wards": "wards", "vehicles": "vehicles", "crew": "crew"})
register_loader(types.VehicleType, relations={"provider": "provider"})
register_loader(types.CrewMemberType, relations={"provider": "provider"})
register_loader(types.FsmTreatmentPlantType, relations={"effluentTests": "effluent_tests"},
                heavy={"location": "location"})
register_loader(types.EmptyingType, relations={"vehicle": "vehicle", "crew": "crew"})
register_loader(types.DisposalType, relations={"treatmentPlant": "treatment_plant", "vehicle": "vehicle",
                                               "applications": "applications"})
register_loader(
    types.ApplicationType,
    relations={"holding": "holding", "building": "building", "containment": "containment", "ward": "ward",
               "provider": "provider", "vehicle": "vehicle", "crew": "crew", "emptying": "emptying",
               "disposals": "disposals", "feedback": "feedback", "events": "events"},
    heavy={"location": "location"},
)
register_loader(types.EffluentTestType, relations={"treatmentPlant": "treatment_plant"})
register_loader(types.ProgrammeType, relations={"treatmentPlant": "treatment_plant", "wards": "wards",
                                                "vehicles": "vehicles"}, heavy={"area": "area"})
register_loader(types.ProgrammeVisitType, relations={"programme": "programme", "containment": "containment",
                                                     "vehicle": "vehicle", "application": "application"})
