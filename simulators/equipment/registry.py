"""Which model simulates which equipment kind."""

from facility import EquipmentKind
from simulators.equipment.access_gate import AccessGateModel
from simulators.equipment.base import EquipmentModel
from simulators.equipment.elevator import ElevatorModel
from simulators.equipment.fire_panel import FirePanelModel
from simulators.equipment.pump import PumpModel

MODELS: dict[EquipmentKind, type[EquipmentModel]] = {
    EquipmentKind.ELEVATOR: ElevatorModel,
    EquipmentKind.PUMP: PumpModel,
    EquipmentKind.FIRE_PANEL: FirePanelModel,
    EquipmentKind.ACCESS_GATE: AccessGateModel,
}
