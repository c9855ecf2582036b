"""Starter-library vehicles, buildings, plants and creatures (front = +Z, +Y up)."""

from __future__ import annotations

import math
from functools import partial

from splatdream.starter.shapes import (
    BLACK,
    BLUE,
    BROWN,
    CREAM,
    DARK_BROWN,
    DARK_GREEN,
    DARK_GREY,
    DARK_RED,
    GOLD,
    GREEN,
    GREY,
    LIGHT_GREY,
    LIME,
    NAVY,
    ORANGE,
    PINK,
    PURPLE,
    RED,
    SILVER,
    SKY,
    TAN,
    TEX,
    WHITE,
    WOOD_DARK,
    WOOD_LIGHT,
    YELLOW,
    Paint,
    Part,
    Variant,
    box,
    capsule,
    cone,
    cyl,
    extrude,
    lathe,
    mirror_x,
    rod,
    sphere,
    torus,
    turn,
)

GLASS = (90, 130, 170)


def wheels(
    xs: list[float], zs: list[float], r: float, paint: Paint = BLACK, hub: Paint = SILVER
) -> list[Part]:
    out = []
    for z in zs:
        out += mirror_x(
            [cyl(r, 0.18, (xs[0], r, z), paint, axis="x"), cyl(r * 0.5, 0.2, (xs[0], r, z), hub, axis="x")]
        )
    return out


def car(body: Paint, roof: Paint, long: float = 2.0, tall_cabin: float = 0.35) -> list[Part]:
    parts = [
        box((0.9, 0.35, long), (0, 0.4, 0), body),
        box((0.8, tall_cabin, long * 0.5), (0, 0.575 + tall_cabin / 2, -0.1), roof),
        box((0.82, tall_cabin * 0.7, 0.02), (0, 0.58 + tall_cabin / 2, long * 0.15 + 0.005), GLASS),
    ]
    parts += mirror_x(
        [
            box((0.2, 0.08, 0.02), (0.3, 0.45, long / 2), YELLOW),
            box((0.2, 0.08, 0.02), (0.3, 0.45, -long / 2), RED),
        ]
    )
    return parts + wheels([0.45], [long * 0.32, -long * 0.32], 0.2)


def truck(cab: Paint, cargo: Paint, tanker: bool = False) -> list[Part]:
    parts = [
        box((1.0, 0.9, 0.9), (0, 0.85, 1.2), cab),
        box((0.9, 0.4, 0.02), (0, 1.0, 1.655), GLASS),
        box((1.0, 0.15, 3.2), (0, 0.4, 0), DARK_GREY),
    ]
    parts.append(
        cyl(0.5, 2.1, (0, 1.0, -0.45), cargo, axis="z")
        if tanker
        else box((1.05, 1.1, 2.1), (0, 1.05, -0.45), cargo)
    )
    return parts + wheels([0.5], [1.2, -0.2, -1.2], 0.25)


def bus(body: Paint, stripe: Paint, double_decker: bool = False) -> list[Part]:
    h = 2.0 if double_decker else 1.2
    parts = [
        box((1.1, h, 3.6), (0, 0.3 + h / 2, 0), body),
        box((1.12, 0.12, 3.62), (0, 0.55, 0), stripe),
        box((1.0, 0.5, 0.02), (0, 1.0, 1.805), GLASS),
    ]
    for deck in range(2 if double_decker else 1):
        parts += mirror_x(
            [box((0.02, 0.35, 0.5), (0.555, 1.05 + deck * 0.85, 1.3 - 0.65 * k), GLASS) for k in range(5)]
        )
    return parts + wheels([0.55], [1.2, -1.2], 0.28)


def bicycle(frame: Paint, tyre: Paint, seat: Paint, big: float = 1.0) -> list[Part]:
    r = 0.45 * big
    fz, bz = 0.75, -0.75
    parts = [
        torus(r, 0.035, (0, r, fz), tyre, axis="x"),
        torus(r, 0.035, (0, r, bz), tyre, axis="x"),
        cyl(0.04, 0.1, (0, r, fz), SILVER, axis="x"),
        cyl(0.04, 0.1, (0, r, bz), SILVER, axis="x"),
    ]
    bb, top_f, top_b = (0, r, 0.0), (0, r + 0.55, 0.55), (0, r + 0.5, -0.25)
    for a, b in [
        (bb, top_f),
        (bb, top_b),
        (top_b, top_f),
        ((0, r, bz), bb),
        ((0, r, bz), top_b),
        ((0, r, fz), top_f),
    ]:
        parts.append(rod(a, b, 0.03, frame))
    parts += [
        rod(top_b, (0, r + 0.65, -0.3), 0.025, SILVER),
        box((0.14, 0.05, 0.28), (0, r + 0.68, -0.32), seat),
        rod(top_f, (0, r + 0.75, 0.6), 0.025, SILVER),
        cyl(0.022, 0.6, (0, r + 0.75, 0.6), BLACK, axis="x"),
    ]
    return parts


def airplane(body: Paint, wing: Paint, jet: bool = True) -> list[Part]:
    parts = [
        capsule(0.25, 2.6, (0, 0, 0), body, axis="z"),
        box((3.0, 0.06, 0.6), (0, -0.05, 0.1), wing),
        box((1.1, 0.04, 0.35), (0, 0.05, -1.4), wing),
        extrude([(0, 0), (0.5, 0), (0.55, 0.6), (0.35, 0.6)], 0.05, (0, 0.1, -1.85), wing, axis="x"),
        box((0.4, 0.1, 0.02), (0, 0.1, 1.3), GLASS),
    ]
    if jet:
        parts += mirror_x([cyl(0.12, 0.5, (0.8, -0.2, 0.2), GREY, axis="z")])
    else:
        parts += [
            cyl(0.05, 0.1, (0, 0, 1.55), DARK_GREY, axis="z"),
            box((0.9, 0.08, 0.03), (0, 0, 1.62), DARK_GREY),
        ]
    return parts


def rocket(body: Paint, nose: Paint, fins: Paint, tall: float = 2.0, n_fins: int = 3) -> list[Part]:
    parts = [
        cyl(0.3, tall, (0, tall / 2, 0), body, sections=28),
        cone(0.3, 0.7, (0, tall, 0), nose, sections=28),
        cyl(0.1, 0.02, (0, tall * 0.7, 0.3), SKY, axis="z"),
        cone(0.2, 0.2, (0, -0.15, 0), DARK_GREY),
    ]
    for k in range(n_fins):
        parts.append(
            turn(
                extrude(
                    [(0.25, 0), (0.65, -0.1), (0.65, 0.2), (0.25, 0.6)], 0.05, (0, 0.05, 0), fins, axis="z"
                ),
                360 * k / n_fins + 90,
                "y",
            )
        )
    return parts


def boat(hull: Paint, deck: Paint, sail: Paint | None, cabin: Paint | None = None) -> list[Part]:
    hull_pts = [(-1.3, 0.5), (1.6, 0.5), (1.1, 0.0), (-1.1, 0.0)]
    parts = [
        turn(extrude(hull_pts, 0.8, (0, 0, 0), hull, axis="x"), 0, "y"),
        box((0.76, 0.04, 2.7), (0, 0.5, 0.1), deck),
    ]
    parts[0].mesh.apply_transform([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 0], [0, 0, 0, 1]])
    parts[0].mesh.invert()
    if sail is not None:
        parts += [
            rod((0, 0.5, 0.2), (0, 2.4, 0.2), 0.04, WOOD_DARK),
            extrude([(0, 0), (0, 1.7), (-1.0, 0)], 0.02, (0, 0.65, 0.15), sail, axis="x"),
        ]
    if cabin is not None:
        parts += [
            box((0.6, 0.45, 0.9), (0, 0.75, -0.3), cabin),
            box((0.62, 0.15, 0.02), (0, 0.85, 0.16), GLASS),
        ]
    return parts


def house(
    walls: Paint, roof: Paint, door_paint: Paint, wide: float = 1.6, floors: int = 1, chimney: bool = True
) -> list[Part]:
    h = 0.9 * floors
    parts = [
        box((wide, h, 1.2), (0, h / 2, 0), walls),
        extrude([(-wide / 2 - 0.1, 0), (wide / 2 + 0.1, 0), (0, 0.7)], 1.35, (0, h, 0), roof, axis="z"),
        box((0.3, 0.55, 0.02), (0, 0.275, 0.61), door_paint),
    ]
    for f in range(floors):
        parts += mirror_x([box((0.3, 0.3, 0.02), (wide * 0.3, 0.5 + 0.9 * f, 0.61), GLASS)])
    if chimney:
        parts.append(box((0.18, 0.5, 0.18), (wide * 0.25, h + 0.45, -0.2), DARK_RED))
    return parts


def lighthouse(a: Paint, b: Paint, bands: int = 4, roof: Paint | None = None) -> list[Part]:
    parts, h = [], 2.4
    for k in range(bands):
        y0, y1 = h * k / bands, h * (k + 1) / bands
        r0, r1 = 0.5 - 0.2 * y0 / h, 0.5 - 0.2 * y1 / h
        parts.append(lathe([(r0, y0), (r1, y1)], paint=a if k % 2 == 0 else b, sections=28))
    parts += [
        cyl(0.4, 0.06, (0, h, 0), DARK_GREY),
        cyl(0.22, 0.35, (0, h + 0.2, 0), YELLOW),
        cone(0.3, 0.3, (0, h + 0.38, 0), a if roof is None else roof),
        cyl(0.6, 0.15, (0, 0.0, 0), GREY),
        box((0.2, 0.35, 0.02), (0, 0.25, 0.5), DARK_BROWN),
    ]
    return parts


def windmill(tower: Paint, cap: Paint, blades: Paint, n_blades: int = 4, tilt: float = 0.0) -> list[Part]:
    parts = [
        lathe([(0.6, 0), (0.35, 1.8)], paint=tower, sections=8),
        cone(0.45, 0.5, (0, 1.8, 0), cap, sections=8),
        cyl(0.06, 0.3, (0, 1.8, 0.4), DARK_GREY, axis="z"),
    ]
    for k in range(n_blades):
        blade = box((0.22, 1.2, 0.03), (0.0, 0.7, 0.55), blades)
        parts.append(turn(turn(blade, tilt + 360 * k / n_blades, "z"), 0, "y"))
        parts[-1].mesh.apply_translation((0, 1.8, 0))
    parts.append(box((0.25, 0.45, 0.02), (0, 0.22, 0.57), DARK_BROWN))
    return parts


def castle(stone: Paint, roofs: Paint, gate: Paint, towers: int = 4, pointed: bool = True) -> list[Part]:
    s = 1.0
    parts = [
        box((2 * s, 0.8, 0.15), (0, 0.4, s), stone),
        box((2 * s, 0.8, 0.15), (0, 0.4, -s), stone),
        box((0.15, 0.8, 2 * s), (s, 0.4, 0), stone),
        box((0.15, 0.8, 2 * s), (-s, 0.4, 0), stone),
        box((0.5, 0.55, 0.04), (0, 0.275, s + 0.08), gate),
        box((0.8, 1.3, 0.8), (0, 0.65, -0.2), stone),
    ]
    parts += [box((0.12, 0.12, 0.18), (-0.9 + 0.3 * k, 0.86, s), stone) for k in range(7)]
    corners = [(s, s), (-s, s), (s, -s), (-s, -s)][:towers]
    for x, z in corners:
        parts.append(cyl(0.25, 1.3, (x, 0.65, z), stone))
        parts.append(cone(0.32, 0.6, (x, 1.3, z), roofs) if pointed else cyl(0.3, 0.15, (x, 1.35, z), stone))
    return parts


def tree(trunk: Paint, leaves: Paint, blobs: int = 4, tall: float = 1.0) -> list[Part]:
    parts = [cyl(0.12, 1.0 * tall, (0, 0.5 * tall, 0), trunk)]
    parts.append(sphere(0.55, (0, 1.2 * tall + 0.2, 0), leaves))
    for k in range(blobs - 1):
        a = 2 * math.pi * k / max(blobs - 1, 1)
        parts.append(sphere(0.4, (0.35 * math.sin(a), 1.1 * tall, 0.35 * math.cos(a)), leaves))
    return parts


def pine_tree(trunk: Paint, needles: Paint, tiers: int = 3, snow: bool = False) -> list[Part]:
    parts = [cyl(0.1, 0.5, (0, 0.25, 0), trunk)]
    for k in range(tiers):
        r = 0.7 - 0.45 * k / tiers
        parts.append(cone(r, 0.9, (0, 0.4 + 0.5 * k, 0), needles))
        if snow:
            parts.append(cone(r * 0.35, 0.32, (0, 0.4 + 0.5 * k + 0.58, 0), WHITE))
    return parts


def cactus(body: Paint, pot: Paint | None, arms: int = 2, round_: bool = False) -> list[Part]:
    parts = []
    if round_:
        parts.append(sphere(0.45, (0, 0.45, 0), body, (1, 0.9, 1), 3))
        parts += [sphere(0.08, (0.0, 0.88, 0), PINK)]
    else:
        parts.append(capsule(0.2, 1.3, (0, 0.85, 0), body))
        for k in range(arms):
            sx = 1 if k % 2 == 0 else -1
            y = 0.7 + 0.25 * k
            parts += [
                rod((0, y, 0), (0.45 * sx, y, 0), 0.12, body),
                capsule(0.12, 0.4, (0.45 * sx, y + 0.2, 0), body),
            ]
    if pot is not None:
        parts.append(lathe([(0.3, -0.35), (0.42, 0.1), (0.0, 0.1)], paint=pot, sections=24))
    return parts


def potted_plant(pot: Paint, leaves: Paint, tall: bool = False, flower: Paint | None = None) -> list[Part]:
    parts = [
        lathe([(0, 0), (0.3, 0), (0.4, 0.55), (0, 0.55)], paint=pot, sections=28),
        cyl(0.36, 0.02, (0, 0.52, 0), DARK_BROWN),
    ]
    n = 7
    for k in range(n):
        a = 360 * k / n
        length = 0.9 if tall else 0.55
        leaf = sphere(0.5, (0, 0, 0), leaves, (0.12, length, 0.04))
        turn(leaf, 30 if tall else 50, "x")
        turn(leaf, a, "y")
        leaf.mesh.apply_translation((0, 0.55 + length * 0.4, 0))
        parts.append(leaf)
    if flower is not None:
        parts += [
            rod((0, 0.5, 0), (0, 1.4, 0), 0.02, DARK_GREEN),
            sphere(0.15, (0, 1.45, 0), flower),
            sphere(0.06, (0, 1.45, 0.12), YELLOW),
        ]
    return parts


def snowman(snow: Paint, scarf: Paint, hat: Paint | None, balls: int = 3) -> list[Part]:
    rs = [0.5, 0.37, 0.27][:balls] if balls == 3 else [0.5, 0.33]
    parts, y = [], 0.0
    for r in rs:
        parts.append(sphere(r, (0, y + r, 0), snow, subdivisions=3))
        y += 1.7 * r
    head_y, hr = y - 0.7 * rs[-1], rs[-1]
    parts += [
        cone(0.05, 0.25, (0, head_y, hr * 0.9), ORANGE, axis="z"),
        torus(rs[-1] * 0.9, 0.06, (0, head_y - hr * 0.8, 0), scarf),
    ]
    parts += mirror_x([sphere(0.04, (0.1, head_y + 0.08, hr * 0.9), BLACK)])
    parts += [
        sphere(0.04, (0, rs[0] * 2 + 0.15 * k, rs[1] * 0.95 if balls == 3 else 0.32), BLACK) for k in range(2)
    ]
    if hat is not None:
        parts += [cyl(hr * 0.9, 0.03, (0, y + 0.0, 0), hat), cyl(hr * 0.6, 0.35, (0, y + 0.17, 0), hat)]
    return parts


def robot(body: Paint, limbs: Paint, eyes: Paint, tall: float = 1.0, round_head: bool = False) -> list[Part]:
    parts = [
        box((0.8, 0.9 * tall, 0.5), (0, 1.15 * tall, 0), body),
        sphere(0.3, (0, 1.9 * tall, 0), body)
        if round_head
        else box((0.55, 0.45, 0.45), (0, 1.85 * tall, 0), body),
        rod((0, 2.05 * tall, 0), (0, 2.35 * tall, 0), 0.02, limbs),
        sphere(0.06, (0, 2.37 * tall, 0), RED),
        box((0.4, 0.25, 0.02), (0, 1.2 * tall, 0.26), LIGHT_GREY),
    ]
    parts += mirror_x(
        [
            sphere(0.07, (0.12, 1.9 * tall, 0.25 if round_head else 0.23), eyes),
            cyl(0.08, 0.8 * tall, (0.5, 1.15 * tall, 0), limbs),
            box((0.22, 0.7 * tall, 0.25), (0.2, 0.35 * tall, 0), limbs),
            box((0.26, 0.1, 0.4), (0.2, 0.05, 0.05), body),
        ]
    )
    return parts


def quadruped(
    body: Paint,
    head_paint: Paint,
    legs_paint: Paint,
    length: float = 1.2,
    leg: float = 0.5,
    neck: float = 0.2,
    ears: str = "flop",
    tail: float = 0.4,
) -> list[Part]:
    """Four-legged animal facing +Z: dogs, horses, cats differ in proportions and ears."""
    y = leg + 0.15
    head_z, head_y = length / 2 + 0.15, y + neck + 0.2
    parts = [
        capsule(0.22, length, (0, y, 0), body, axis="z"),
        rod((0, y + 0.05, length / 2), (0, head_y, head_z), 0.14, body),
        sphere(0.22, (0, head_y, head_z), head_paint, (0.9, 1, 1.1)),
        sphere(0.1, (0, head_y - 0.06, head_z + 0.24), head_paint, (1, 0.8, 1.3)),
        sphere(0.04, (0, head_y - 0.03, head_z + 0.36), BLACK),
        rod(
            (0, y + 0.05, -length / 2 - 0.1),
            (0, y + 0.05 + tail * 0.7, -length / 2 - 0.1 - tail * 0.7),
            0.05,
            body,
        ),
    ]
    parts += mirror_x(
        [
            rod((0.13, y, length * 0.4), (0.13, 0, length * 0.4), 0.07, legs_paint),
            rod((0.13, y, -length * 0.4), (0.13, 0, -length * 0.4), 0.07, legs_paint),
            sphere(0.035, (0.09, head_y + 0.07, head_z + 0.17), BLACK),
        ]
    )
    if ears == "flop":
        parts += mirror_x([sphere(0.1, (0.19, head_y - 0.02, head_z - 0.03), legs_paint, (0.4, 1.2, 0.8))])
    elif ears == "point":
        parts += mirror_x([cone(0.07, 0.16, (0.11, head_y + 0.17, head_z - 0.03), head_paint)])
    else:  # horse: long upright ears + mane
        parts += mirror_x([cone(0.05, 0.2, (0.08, head_y + 0.18, head_z - 0.1), head_paint)])
        parts.append(box((0.06, 0.12, 0.55), (0, y + neck * 0.7 + 0.15, length / 2 - 0.05), legs_paint))
    return parts


def bird(body: Paint, wing: Paint, beak: Paint, flying: bool = False, long_tail: bool = False) -> list[Part]:
    parts = [
        sphere(0.35, (0, 0.6, 0), body, (0.8, 0.85, 1.2), 3),
        sphere(0.2, (0, 0.95, 0.3), body),
        cone(0.07, 0.18, (0, 0.93, 0.47), beak, axis="z"),
        rod((0, 0.35, 0), (0, 0.0, 0.05), 0.02, ORANGE),
        sphere(0.3, (0, 0.55, -0.45 if long_tail else -0.35), wing, (0.35, 0.08, 1.0 if long_tail else 0.6)),
    ]
    parts += mirror_x([sphere(0.03, (0.1, 1.0, 0.45), BLACK)])
    if flying:
        parts += mirror_x([turn(box((0.9, 0.04, 0.35), (0.5, 0.7, 0), wing), 15, "z", about=(0.1, 0.7, 0))])
    else:
        parts += mirror_x([sphere(0.25, (0.25, 0.62, -0.05), wing, (0.2, 0.6, 1.1))])
    return parts


def fish(body: Paint, fins: Paint, tall: float = 1.0, stripes: Paint | None = None) -> list[Part]:
    parts = [
        sphere(0.5, (0, 0, 0), body, (0.35, 0.6 * tall, 1.0), 3),
        extrude([(0, 0), (0.4, 0.35), (0.4, -0.35)], 0.04, (0, 0, 0), fins, axis="x"),
        extrude([(0, 0), (-0.2, 0.3 * tall), (0.25, 0.0)], 0.03, (0, 0.25 * tall, 0.0), fins, axis="x"),
    ]
    turn(parts[1], 180, "y")
    parts[1].mesh.apply_translation((0, 0, -0.45))
    parts += mirror_x(
        [
            sphere(0.05, (0.14, 0.08, 0.35), BLACK),
            turn(box((0.02, 0.12, 0.2), (0.18, -0.1, 0.1), fins), 20, "y", about=(0.18, -0.1, 0.1)),
        ]
    )
    if stripes is not None:
        parts += [
            sphere(0.5, (0, 0, z), stripes, (0.36, 0.6 * tall * (1 - (z / 0.6) ** 2) ** 0.5 + 0.005, 0.06))
            for z in (-0.25, 0.0, 0.25)
        ]
    return parts


V = Variant
VARIANTS: list[Variant] = [
    V(
        "car_red_sedan",
        "car",
        "a red sedan car with a red roof and black wheels",
        ("vehicle", "car"),
        partial(car, RED, RED),
    ),
    V(
        "car_yellow_taxi",
        "car",
        "a yellow taxi car with a checkered black and white stripe",
        ("vehicle", "car", "taxi", "textured"),
        partial(car, YELLOW, TEX, 2.0, 0.35),
        ("checker", BLACK, WHITE),
    ),
    V(
        "car_blue_compact",
        "car",
        "a small blue compact car with a tall white roof",
        ("vehicle", "car"),
        partial(car, BLUE, WHITE, 1.5, 0.45),
    ),
    V(
        "truck_box_white",
        "truck",
        "a white delivery truck with a blue cab",
        ("vehicle", "truck"),
        partial(truck, BLUE, WHITE),
    ),
    V(
        "truck_tanker",
        "truck",
        "a red tanker truck carrying a silver tank",
        ("vehicle", "truck"),
        partial(truck, RED, SILVER, True),
    ),
    V(
        "truck_green_cargo",
        "truck",
        "a green army cargo truck with a camouflage box",
        ("vehicle", "truck", "textured"),
        partial(truck, DARK_GREEN, TEX),
        ("marble", (80, 100, 50), (50, 60, 30)),
    ),
    V(
        "bus_yellow_school",
        "bus",
        "a yellow school bus with a black stripe",
        ("vehicle", "bus"),
        partial(bus, YELLOW, BLACK),
    ),
    V(
        "bus_red_double_decker",
        "bus",
        "a red double-decker bus",
        ("vehicle", "bus", "london"),
        partial(bus, RED, CREAM, True),
    ),
    V("bus_city_blue", "bus", "a blue and white city bus", ("vehicle", "bus"), partial(bus, WHITE, BLUE)),
    V(
        "bicycle_red",
        "bicycle",
        "a red bicycle with black tyres and a black seat",
        ("vehicle", "bicycle", "bike"),
        partial(bicycle, RED, BLACK, BLACK),
    ),
    V(
        "bicycle_blue_kids",
        "bicycle",
        "a small blue kids bike with white tyres",
        ("vehicle", "bicycle", "bike"),
        partial(bicycle, SKY, WHITE, PINK, 0.7),
    ),
    V(
        "bicycle_black_road",
        "bicycle",
        "a black road bicycle with large wheels and a brown seat",
        ("vehicle", "bicycle", "bike"),
        partial(bicycle, BLACK, DARK_GREY, BROWN, 1.2),
    ),
    V(
        "airplane_jet_white",
        "airplane",
        "a white passenger jet airplane with grey wings and two engines",
        ("vehicle", "airplane", "aircraft"),
        partial(airplane, WHITE, GREY),
    ),
    V(
        "airplane_propeller_yellow",
        "airplane",
        "a yellow propeller plane",
        ("vehicle", "airplane", "aircraft"),
        partial(airplane, YELLOW, RED, False),
    ),
    V(
        "airplane_blue_jet",
        "airplane",
        "a blue jet airplane with white wings",
        ("vehicle", "airplane", "aircraft"),
        partial(airplane, BLUE, WHITE, True),
    ),
    V(
        "rocket_white_red",
        "rocket",
        "a white rocket with a red nose cone and red fins",
        ("vehicle", "rocket", "space"),
        partial(rocket, WHITE, RED, RED),
    ),
    V(
        "rocket_silver_tall",
        "rocket",
        "a tall silver rocket with four blue fins",
        ("vehicle", "rocket", "space"),
        partial(rocket, SILVER, BLUE, BLUE, 2.8, 4),
    ),
    V(
        "rocket_toy_striped",
        "rocket",
        "a short striped toy rocket with yellow fins",
        ("toy", "rocket", "space", "textured"),
        partial(rocket, TEX, YELLOW, YELLOW, 1.4, 3),
        ("stripes", ORANGE, WHITE),
    ),
    V(
        "boat_sailboat",
        "boat",
        "a white sailboat with a tall white sail",
        ("vehicle", "boat", "sail"),
        partial(boat, WHITE, WOOD_LIGHT, WHITE),
    ),
    V(
        "boat_wooden_rowboat",
        "boat",
        "a wooden rowboat",
        ("vehicle", "boat", "wood", "textured"),
        partial(boat, TEX, TEX, None),
        ("wood", WOOD_LIGHT, WOOD_DARK),
    ),
    V(
        "boat_red_tug",
        "boat",
        "a red tugboat with a white cabin",
        ("vehicle", "boat"),
        partial(boat, RED, GREY, None, WHITE),
    ),
    V(
        "house_cottage_red_roof",
        "house",
        "a small white cottage with a red roof and a chimney",
        ("building", "house"),
        partial(house, WHITE, RED, BROWN),
    ),
    V(
        "house_brick_two_storey",
        "house",
        "a two-storey brick house with a dark grey roof",
        ("building", "house", "brick", "textured"),
        partial(house, TEX, DARK_GREY, NAVY, 1.8, 2),
        ("brick", (170, 70, 50), (220, 210, 200)),
    ),
    V(
        "house_blue_wide",
        "house",
        "a wide blue house with a black roof and no chimney",
        ("building", "house"),
        partial(house, SKY, BLACK, WHITE, 2.4, 1, False),
    ),
    V(
        "lighthouse_red_white",
        "lighthouse",
        "a red and white striped lighthouse",
        ("building", "lighthouse", "coast"),
        partial(lighthouse, RED, WHITE),
    ),
    V(
        "lighthouse_black_white",
        "lighthouse",
        "a black and white lighthouse with six bands",
        ("building", "lighthouse", "coast"),
        partial(lighthouse, BLACK, WHITE, 6),
    ),
    V(
        "lighthouse_stone",
        "lighthouse",
        "a grey stone lighthouse with a green lantern roof",
        ("building", "lighthouse", "stone", "textured"),
        partial(lighthouse, TEX, TEX, 2, DARK_GREEN),
        ("brick", GREY, LIGHT_GREY),
    ),
    V(
        "windmill_dutch",
        "windmill",
        "a dutch windmill with a brown tower and four white sails",
        ("building", "windmill"),
        partial(windmill, BROWN, DARK_BROWN, WHITE, 4, 45),
    ),
    V(
        "windmill_white_red",
        "windmill",
        "a white windmill with red sails and a red cap",
        ("building", "windmill"),
        partial(windmill, WHITE, RED, RED, 4, 0),
    ),
    V(
        "windmill_six_blade",
        "windmill",
        "a stone windmill with six wooden blades",
        ("building", "windmill", "textured"),
        partial(windmill, TEX, GREY, WOOD_DARK, 6, 15),
        ("brick", (150, 140, 120), (200, 190, 170)),
    ),
    V(
        "castle_grey_towers",
        "castle",
        "a grey stone castle with four towers and blue pointed roofs",
        ("building", "castle", "medieval"),
        partial(castle, GREY, BLUE, DARK_BROWN),
    ),
    V(
        "castle_sand",
        "castle",
        "a sandcastle with flat-topped towers",
        ("castle", "beach", "sand"),
        partial(castle, TAN, TAN, DARK_BROWN, 4, False),
    ),
    V(
        "castle_pink_fairy",
        "castle",
        "a pink fairy-tale castle with purple roofs",
        ("building", "castle", "fantasy", "textured"),
        partial(castle, TEX, PURPLE, WHITE, 4, True),
        ("brick", PINK, (250, 200, 220)),
    ),
    V(
        "tree_oak_round",
        "tree",
        "a leafy green oak tree with a round crown",
        ("plant", "tree", "nature"),
        partial(tree, BROWN, GREEN),
    ),
    V(
        "tree_autumn_orange",
        "tree",
        "an autumn tree with orange leaves",
        ("plant", "tree", "nature", "autumn"),
        partial(tree, DARK_BROWN, ORANGE, 5, 1.2),
    ),
    V(
        "tree_cherry_blossom",
        "tree",
        "a small pink cherry blossom tree",
        ("plant", "tree", "nature", "blossom", "textured"),
        partial(tree, DARK_BROWN, TEX, 3, 0.8),
        ("dots", PINK, WHITE),
    ),
    V(
        "pine_tree_green",
        "pine tree",
        "a tall green pine tree",
        ("plant", "tree", "conifer"),
        partial(pine_tree, BROWN, DARK_GREEN, 3),
    ),
    V(
        "pine_tree_snowy",
        "pine tree",
        "a snowy pine tree with white tips",
        ("plant", "tree", "conifer", "winter"),
        partial(pine_tree, BROWN, DARK_GREEN, 4, True),
    ),
    V(
        "pine_tree_christmas",
        "pine tree",
        "a small christmas tree",
        ("plant", "tree", "christmas", "textured"),
        partial(pine_tree, DARK_BROWN, TEX, 2),
        ("dots", GREEN, RED),
    ),
    V(
        "cactus_saguaro",
        "cactus",
        "a tall green saguaro cactus with two arms",
        ("plant", "cactus", "desert"),
        partial(cactus, GREEN, None, 2),
    ),
    V(
        "cactus_potted_round",
        "cactus",
        "a round cactus with a pink flower in a terracotta pot",
        ("plant", "cactus", "potted"),
        partial(cactus, LIME, (190, 90, 50), 0, True),
    ),
    V(
        "cactus_three_arms_potted",
        "cactus",
        "a potted dark green cactus with three arms in a white pot",
        ("plant", "cactus", "potted"),
        partial(cactus, DARK_GREEN, WHITE, 3),
    ),
    V(
        "potted_plant_green",
        "potted plant",
        "a leafy green house plant in a terracotta pot",
        ("plant", "potted", "indoor"),
        partial(potted_plant, (190, 90, 50), GREEN),
    ),
    V(
        "potted_plant_flower",
        "potted plant",
        "a red flower in a blue pot",
        ("plant", "potted", "flower"),
        partial(potted_plant, BLUE, GREEN, False, RED),
    ),
    V(
        "potted_plant_snake",
        "potted plant",
        "a tall snake plant in a white pot",
        ("plant", "potted", "indoor"),
        partial(potted_plant, WHITE, DARK_GREEN, True),
    ),
    V(
        "snowman_classic",
        "snowman",
        "a snowman with three snowballs, a red scarf and a black top hat",
        ("winter", "snowman"),
        partial(snowman, WHITE, RED, BLACK),
    ),
    V(
        "snowman_two_ball",
        "snowman",
        "a small two-ball snowman with a green scarf and no hat",
        ("winter", "snowman"),
        partial(snowman, WHITE, GREEN, None, 2),
    ),
    V(
        "snowman_blue_hat",
        "snowman",
        "a snowman with a striped scarf and a blue hat",
        ("winter", "snowman", "textured"),
        partial(snowman, WHITE, TEX, BLUE),
        ("stripes", RED, WHITE),
    ),
    V(
        "robot_silver_boxy",
        "robot",
        "a boxy silver robot with blue eyes and an antenna",
        ("robot", "toy", "metal"),
        partial(robot, SILVER, DARK_GREY, SKY),
    ),
    V(
        "robot_red_round_head",
        "robot",
        "a red robot with a round head and yellow eyes",
        ("robot", "toy"),
        partial(robot, RED, GREY, YELLOW, 1.0, True),
    ),
    V(
        "robot_tall_white",
        "robot",
        "a tall white robot with black limbs and green eyes",
        ("robot", "toy"),
        partial(robot, WHITE, BLACK, GREEN, 1.3),
    ),
    V(
        "dog_brown",
        "dog",
        "a brown dog with floppy dark ears",
        ("animal", "dog", "pet"),
        partial(quadruped, BROWN, BROWN, DARK_BROWN),
    ),
    V(
        "dog_dalmatian",
        "dog",
        "a spotted dalmatian dog",
        ("animal", "dog", "pet", "textured"),
        partial(quadruped, TEX, WHITE, BLACK, 1.3, 0.55),
        ("dots", WHITE, BLACK),
    ),
    V(
        "dog_corgi",
        "dog",
        "a short-legged orange corgi with pointed ears",
        ("animal", "dog", "pet"),
        partial(quadruped, ORANGE, ORANGE, WHITE, 1.1, 0.22, 0.15, "point", 0.15),
    ),
    V(
        "horse_brown",
        "horse",
        "a brown horse with a black mane",
        ("animal", "horse"),
        partial(quadruped, BROWN, BROWN, BLACK, 1.6, 1.1, 0.5, "horse", 0.5),
    ),
    V(
        "horse_white",
        "horse",
        "a white horse with a grey mane",
        ("animal", "horse"),
        partial(quadruped, WHITE, WHITE, LIGHT_GREY, 1.6, 1.1, 0.55, "horse", 0.5),
    ),
    V(
        "horse_pony_black",
        "horse",
        "a small black pony",
        ("animal", "horse", "pony"),
        partial(quadruped, BLACK, BLACK, DARK_GREY, 1.3, 0.7, 0.4, "horse", 0.4),
    ),
    V(
        "cat_grey",
        "cat",
        "a grey cat with pointed ears and a long tail",
        ("animal", "cat", "pet"),
        partial(quadruped, GREY, GREY, GREY, 1.0, 0.4, 0.15, "point", 0.7),
    ),
    V(
        "cat_ginger_tabby",
        "cat",
        "a ginger tabby cat",
        ("animal", "cat", "pet", "textured"),
        partial(quadruped, TEX, ORANGE, ORANGE, 1.0, 0.4, 0.15, "point", 0.7),
        ("stripes", ORANGE, (170, 80, 20)),
    ),
    V(
        "cat_black",
        "cat",
        "a black cat with a short tail",
        ("animal", "cat", "pet"),
        partial(quadruped, BLACK, BLACK, DARK_GREY, 0.9, 0.35, 0.1, "point", 0.3),
    ),
    V(
        "bird_bluebird",
        "bird",
        "a small blue bird with an orange beak",
        ("animal", "bird"),
        partial(bird, BLUE, NAVY, ORANGE),
    ),
    V(
        "bird_red_cardinal_flying",
        "bird",
        "a red cardinal bird flying with spread wings",
        ("animal", "bird"),
        partial(bird, RED, DARK_RED, ORANGE, True),
    ),
    V(
        "bird_yellow_canary",
        "bird",
        "a yellow canary with a long tail",
        ("animal", "bird"),
        partial(bird, YELLOW, GOLD, PINK, False, True),
    ),
    V(
        "fish_goldfish",
        "fish",
        "an orange goldfish",
        ("animal", "fish", "pet"),
        partial(fish, ORANGE, ORANGE),
    ),
    V(
        "fish_clownfish",
        "fish",
        "a clownfish with orange and white stripes",
        ("animal", "fish", "sea"),
        partial(fish, ORANGE, BLACK, 1.0, WHITE),
    ),
    V(
        "fish_tropical_blue",
        "fish",
        "a tall blue tropical fish with yellow fins",
        ("animal", "fish", "sea"),
        partial(fish, BLUE, YELLOW, 1.5),
    ),
]
