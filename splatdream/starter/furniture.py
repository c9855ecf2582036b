"""Starter-library furniture and household fixtures (procedural, front = +Z, +Y up)."""

from __future__ import annotations

from functools import partial

from splatdream.starter.shapes import (
    BEIGE,
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
    NAVY,
    ORANGE,
    PINK,
    PURPLE,
    RED,
    SILVER,
    SKY,
    STEEL,
    TEAL,
    TEX,
    WHITE,
    WOOD_DARK,
    WOOD_LIGHT,
    YELLOW,
    Paint,
    Part,
    Variant,
    box,
    cone,
    cyl,
    lathe,
    mirror_x,
    rod,
    sphere,
    torus,
    turn,
)


def chair(seat: Paint, legs: Paint, back: Paint, back_h: float = 0.9, slats: int = 0) -> list[Part]:
    parts = [box((1, 0.1, 1), (0, 0.5, 0), seat)]
    parts += mirror_x(
        [
            rod((0.42, 0, 0.42), (0.42, 0.45, 0.42), 0.05, legs),
            rod((0.42, 0, -0.42), (0.42, 0.45, -0.42), 0.05, legs),
        ]
    )
    if slats:
        parts += mirror_x([box((0.08, back_h, 0.08), (0.46, 0.55 + back_h / 2, -0.46), back)])
        parts += [
            box((0.08, back_h * 0.8, 0.05), (x, 0.55 + back_h * 0.4, -0.46), back)
            for x in [-0.3 + 0.6 * i / max(slats - 1, 1) for i in range(slats)]
        ]
        parts.append(box((1, 0.1, 0.1), (0, 0.55 + back_h, -0.46), back))
    else:
        parts.append(box((1, back_h, 0.1), (0, 0.55 + back_h / 2, -0.45), back))
    return parts


def armchair(body: Paint, cushion: Paint, legs: Paint, wide: float = 1.2, arm_h: float = 0.35) -> list[Part]:
    parts = [
        box((wide, 0.35, 1), (0, 0.35, 0), body),
        box((wide - 0.3, 0.15, 0.8), (0, 0.6, 0.08), cushion),
        box((wide, 0.8, 0.25), (0, 0.8, -0.4), body),
    ]
    parts += mirror_x(
        [
            box((0.18, arm_h, 1), (wide / 2 - 0.09, 0.52 + arm_h / 2, 0), body),
            cyl(0.05, 0.18, (wide / 2 - 0.1, 0.09, 0.4), legs),
            cyl(0.05, 0.18, (wide / 2 - 0.1, 0.09, -0.4), legs),
        ]
    )
    return parts


def stool(seat: Paint, legs: Paint, height: float = 1.0, n_legs: int = 4, ring: bool = True) -> list[Part]:
    import math

    parts = [cyl(0.4, 0.08, (0, height, 0), seat)]
    for k in range(n_legs):
        a = 2 * math.pi * (k + 0.5) / n_legs
        parts.append(
            rod(
                (0.42 * math.sin(a), 0, 0.42 * math.cos(a)),
                (0.28 * math.sin(a), height, 0.28 * math.cos(a)),
                0.035,
                legs,
            )
        )
    if ring:
        parts.append(torus(0.37, 0.02, (0, height * 0.35, 0), legs))
    return parts


def table(
    top: Paint, legs: Paint, round_top: bool = False, pedestal: bool = False, w: float = 1.6
) -> list[Part]:
    parts = [
        cyl(w / 2, 0.08, (0, 0.75, 0), top, sections=32)
        if round_top
        else box((w, 0.08, 1.0), (0, 0.75, 0), top)
    ]
    if pedestal:
        parts += [cyl(0.08, 0.7, (0, 0.36, 0), legs), cyl(0.35, 0.05, (0, 0.025, 0), legs)]
    else:
        dx, dz = (w / 2 - 0.1, 0.4) if not round_top else (w * 0.3, w * 0.3)
        parts += mirror_x(
            [box((0.08, 0.72, 0.08), (dx, 0.36, dz), legs), box((0.08, 0.72, 0.08), (dx, 0.36, -dz), legs)]
        )
    return parts


def desk(top: Paint, body: Paint, handle: Paint, drawers: int = 3) -> list[Part]:
    parts = [
        box((1.8, 0.07, 0.9), (0, 0.76, 0), top),
        box((0.5, 0.72, 0.85), (0.62, 0.36, 0), body),
        box((0.06, 0.72, 0.85), (-0.85, 0.36, 0), body),
        box((1.2, 0.5, 0.04), (-0.25, 0.45, -0.4), body),
    ]
    h = 0.66 / drawers
    for k in range(drawers):
        y = 0.05 + h * (k + 0.5)
        parts += [
            box((0.44, h - 0.03, 0.02), (0.62, y, 0.43), body),
            box((0.14, 0.03, 0.04), (0.62, y, 0.46), handle),
        ]
    return parts


def bed(frame: Paint, sheet: Paint, pillow: Paint, blanket: Paint, double: bool = True) -> list[Part]:
    w = 1.5 if double else 1.0
    parts = [
        box((w, 0.3, 2.0), (0, 0.3, 0), frame),
        box((w - 0.06, 0.2, 1.95), (0, 0.55, 0), sheet),
        box((w - 0.02, 0.08, 1.2), (0, 0.67, 0.35), blanket),
        box((w + 0.1, 1.0, 0.1), (0, 0.5, -1.0), frame),
        box((w + 0.1, 0.55, 0.1), (0, 0.28, 1.0), frame),
    ]
    xs = [-w / 4, w / 4] if double else [0.0]
    parts += [box((0.55 if double else 0.7, 0.14, 0.35), (x, 0.72, -0.72), pillow) for x in xs]
    return parts


def sofa(body: Paint, cushion: Paint, legs: Paint, seats: int = 3) -> list[Part]:
    w = 0.7 * seats + 0.4
    parts = [box((w, 0.3, 0.9), (0, 0.3, 0), body), box((w, 0.7, 0.22), (0, 0.65, -0.35), body)]
    parts += mirror_x(
        [box((0.2, 0.55, 0.9), (w / 2 - 0.1, 0.42, 0), body), cone(0.05, 0.15, (w / 2 - 0.15, 0, 0.35), legs)]
    )
    parts.append(cone(0.05, 0.15, (-(w / 2 - 0.15), 0, -0.35), legs))
    parts.append(cone(0.05, 0.15, (w / 2 - 0.15, 0, -0.35), legs))
    for k in range(seats):
        x = -w / 2 + 0.2 + 0.7 * (k + 0.5)
        parts += [
            box((0.66, 0.14, 0.65), (x, 0.52, 0.08), cushion),
            box((0.62, 0.45, 0.14), (x, 0.78, -0.18), cushion),
        ]
    return parts


def bookshelf(wood: Paint, books: list[Paint], shelves: int = 4, w: float = 1.0) -> list[Part]:
    h = 0.45 * shelves
    parts = [
        *mirror_x([box((0.05, h, 0.35), (w / 2, h / 2, 0), wood)]),
        box((w, h, 0.03), (0, h / 2, -0.16), wood),
    ]
    for s in range(shelves + 1):
        parts.append(box((w, 0.04, 0.35), (0, 0.45 * s, 0), wood))
    for s in range(shelves):
        x = -w / 2 + 0.06
        for k in range(9):
            bw, bh = 0.06 + 0.02 * ((k * 7 + s) % 3), 0.28 + 0.05 * ((k * 5 + s) % 3)
            if x + bw > w / 2 - 0.05:
                break
            parts.append(
                box((bw, bh, 0.25), (x + bw / 2, 0.45 * s + 0.02 + bh / 2, 0.02), books[(k + s) % len(books)])
            )
            x += bw + 0.01
    return parts


def bench(seat: Paint, legs: Paint, back: bool = False, planks: int = 3, w: float = 2.0) -> list[Part]:
    parts = [
        box((w, 0.06, 0.14), (0, 0.48, -0.2 + 0.4 * k / max(planks - 1, 1)), seat) for k in range(planks)
    ]
    parts += mirror_x([box((0.08, 0.45, 0.5), (w / 2 - 0.15, 0.225, 0), legs)])
    if back:
        parts += [box((w, 0.1, 0.05), (0, 0.7 + 0.18 * k, -0.28), seat) for k in range(2)]
        parts += mirror_x([box((0.06, 0.5, 0.05), (w / 2 - 0.15, 0.72, -0.3), legs)])
    return parts


def lamp(base: Paint, pole: Paint, shade: Paint, height: float = 1.6, shade_w: float = 0.4) -> list[Part]:
    return [
        cyl(0.25, 0.05, (0, 0.025, 0), base),
        cyl(0.025, height, (0, height / 2, 0), pole),
        lathe([(shade_w, 0), (shade_w * 0.6, shade_w * 0.8)], (0, height - shade_w * 0.35, 0), shade),
        sphere(0.06, (0, height - 0.1, 0), YELLOW),
    ]


def desk_lamp(base: Paint, arm: Paint, head: Paint) -> list[Part]:
    return [
        cyl(0.2, 0.06, (0, 0.03, 0), base),
        rod((0, 0.05, 0), (0, 0.6, -0.15), 0.025, arm),
        rod((0, 0.6, -0.15), (0, 0.75, 0.25), 0.025, arm),
        sphere(0.045, (0, 0.6, -0.15), arm),
        turn(cone(0.14, 0.22, (0, 0.78, 0.3), head), 150, "x", about=(0, 0.78, 0.3)),
    ]


def ladder(rail: Paint, rung: Paint, rungs: int = 6, h: float = 2.0, w: float = 0.5) -> list[Part]:
    parts = mirror_x([box((0.06, h, 0.08), (w / 2, h / 2, 0), rail)])
    parts += [cyl(0.025, w, (0, h * (k + 0.7) / (rungs + 0.4), 0), rung, axis="x") for k in range(rungs)]
    return parts


def door(panel: Paint, frame: Paint, knob: Paint, panels: bool = True, window: bool = False) -> list[Part]:
    parts = [box((0.9, 2.0, 0.06), (0, 1.0, 0), panel), box((1.1, 0.1, 0.12), (0, 2.05, 0), frame)]
    parts += mirror_x([box((0.1, 2.1, 0.12), (0.5, 1.05, 0), frame), sphere(0.04, (0.35, 1.0, 0.06), knob)])
    if panels:
        parts += [box((0.3, 0.6, 0.02), (x, y, 0.035), frame) for x in (-0.2, 0.2) for y in (0.5, 1.35)]
    if window:
        parts.append(box((0.5, 0.4, 0.02), (0, 1.6, 0.035), (150, 200, 230)))
    return parts


def fence(picket: Paint, rail: Paint, n: int = 7, pointed: bool = True, h: float = 1.0) -> list[Part]:
    w = 0.25 * n
    parts = [box((w, 0.07, 0.04), (0, y, -0.04), rail) for y in (h * 0.3, h * 0.75)]
    for k in range(n):
        x = -w / 2 + 0.25 * (k + 0.5)
        parts.append(box((0.14, h, 0.04), (x, h / 2, 0), picket))
        if pointed:
            parts.append(turn(cone(0.1, 0.12, (x, h, 0), picket, sections=4), 45, "y", about=(x, h, 0)))
    return parts


def piano(body: Paint, keys: Paint, sharps: Paint, bench_col: Paint | None = None) -> list[Part]:
    parts = [
        box((1.5, 1.2, 0.5), (0, 0.9, -0.2), body),
        box((1.5, 0.08, 0.3), (0, 0.75, 0.2), body),
        box((1.4, 0.04, 0.22), (0, 0.81, 0.22), keys),
    ]
    parts += [
        box((0.05, 0.03, 0.13), (-0.65 + 0.1 * k, 0.84, 0.17), sharps)
        for k in range(14)
        if k % 7 not in (2, 6)
    ]
    parts += [
        *mirror_x([box((0.08, 0.7, 0.08), (0.7, 0.35, 0.3), body)]),
        box((1.5, 0.3, 0.5), (0, 0.15, -0.2), body),
    ]
    if bench_col is not None:
        parts += [box((0.9, 0.08, 0.35), (0, 0.5, 0.8), bench_col)]
        parts += mirror_x([box((0.06, 0.46, 0.3), (0.4, 0.23, 0.8), bench_col)])
    return parts


def wall_clock(rim: Paint, face: Paint, hands: Paint, r: float = 0.5, square: bool = False) -> list[Part]:
    import math

    parts = [
        box((2 * r + 0.1, 2 * r + 0.1, 0.08), (0, 0, -0.02), rim)
        if square
        else cyl(r + 0.05, 0.08, (0, 0, -0.02), rim, axis="z", sections=40),
        cyl(r, 0.02, (0, 0, 0.03), face, axis="z", sections=40),
    ]
    for k in range(12):
        a = 2 * math.pi * k / 12
        parts.append(
            box(
                (0.03, 0.09 if k % 3 == 0 else 0.05, 0.01),
                (0.85 * r * math.sin(a), 0.85 * r * math.cos(a), 0.045),
                hands,
            )
        )
    parts += [
        turn(box((0.04, 0.55 * r, 0.01), (0, 0.27 * r, 0.05), hands), -60, "z"),
        turn(box((0.025, 0.8 * r, 0.01), (0, 0.4 * r, 0.06), hands), 100, "z"),
        cyl(0.03, 0.03, (0, 0, 0.06), hands, axis="z"),
    ]
    return parts


def grandfather_clock(wood: Paint, face: Paint, pendulum: Paint) -> list[Part]:
    return [
        box((0.6, 2.0, 0.4), (0, 1.0, 0), wood),
        box((0.7, 0.15, 0.45), (0, 2.05, 0), wood),
        box((0.7, 0.1, 0.45), (0, 0.05, 0), wood),
        cyl(0.22, 0.02, (0, 1.7, 0.21), face, axis="z", sections=32),
        box((0.03, 0.17, 0.01), (0, 1.77, 0.225), BLACK),
        box((0.12, 0.02, 0.01), (0.05, 1.7, 0.225), BLACK),
        box((0.35, 0.9, 0.01), (0, 0.9, 0.205), (60, 40, 25)),
        rod((0, 1.3, 0.22), (0, 0.65, 0.22), 0.01, pendulum),
        cyl(0.08, 0.02, (0, 0.62, 0.225), pendulum, axis="z"),
    ]


V = Variant
WOOD = ("wood", WOOD_LIGHT, WOOD_DARK)
VARIANTS: list[Variant] = [
    V(
        "chair_red_seat",
        "chair",
        "a chair with a red seat, brown wooden legs and a tall solid back",
        ("furniture", "seat", "wood"),
        partial(chair, RED, BROWN, BROWN, 0.9),
    ),
    V(
        "chair_wooden_slats",
        "chair",
        "a wooden chair with a grained seat and a slatted spindle back",
        ("furniture", "seat", "wood", "textured"),
        partial(chair, TEX, WOOD_DARK, TEX, 1.0, 4),
        WOOD,
    ),
    V(
        "chair_white_modern",
        "chair",
        "a white modern chair with thin black metal legs and a low back",
        ("furniture", "seat", "modern"),
        partial(chair, WHITE, BLACK, WHITE, 0.5),
    ),
    V(
        "armchair_green_velvet",
        "armchair",
        "a green velvet armchair with a cream cushion and short wooden feet",
        ("furniture", "seat", "upholstered"),
        partial(armchair, GREEN, CREAM, WOOD_DARK),
    ),
    V(
        "armchair_leather_brown",
        "armchair",
        "a wide brown leather club armchair with tall arms",
        ("furniture", "seat", "leather"),
        partial(armchair, BROWN, DARK_BROWN, BLACK, 1.5, 0.45),
    ),
    V(
        "armchair_checked_blue",
        "armchair",
        "a blue checked fabric armchair with low arms and a plaid pattern",
        ("furniture", "seat", "textured"),
        partial(armchair, TEX, TEX, WOOD_LIGHT, 1.1, 0.2),
        ("checker", NAVY, SKY),
    ),
    V(
        "stool_bar_red",
        "stool",
        "a tall red bar stool with four chrome legs and a footrest ring",
        ("furniture", "seat"),
        partial(stool, RED, SILVER, 1.3, 4, True),
    ),
    V(
        "stool_milking_wood",
        "stool",
        "a short three-legged wooden milking stool",
        ("furniture", "seat", "wood", "textured"),
        partial(stool, TEX, WOOD_DARK, 0.5, 3, False),
        WOOD,
    ),
    V(
        "stool_black_yellow",
        "stool",
        "a black stool with a round yellow seat and four legs",
        ("furniture", "seat"),
        partial(stool, YELLOW, BLACK, 0.9, 4, False),
    ),
    V(
        "table_dining_oak",
        "table",
        "a long rectangular oak dining table with four square legs",
        ("furniture", "table", "wood", "textured"),
        partial(table, TEX, WOOD_DARK, False, False, 1.8),
        WOOD,
    ),
    V(
        "table_round_white",
        "table",
        "a round white cafe table on a single black pedestal",
        ("furniture", "table"),
        partial(table, WHITE, BLACK, True, True, 1.0),
    ),
    V(
        "table_small_blue",
        "table",
        "a small square blue side table with white legs",
        ("furniture", "table"),
        partial(table, BLUE, WHITE, False, False, 1.0),
    ),
    V(
        "desk_office_grey",
        "desk",
        "a grey office desk with a pedestal of three drawers and silver handles",
        ("furniture", "desk", "office"),
        partial(desk, LIGHT_GREY, GREY, SILVER, 3),
    ),
    V(
        "desk_wooden_writing",
        "desk",
        "a wooden writing desk with two drawers and brass handles",
        ("furniture", "desk", "wood", "textured"),
        partial(desk, TEX, TEX, GOLD, 2),
        WOOD,
    ),
    V(
        "desk_white_black",
        "desk",
        "a white desk with a black top and four small drawers",
        ("furniture", "desk", "modern"),
        partial(desk, BLACK, WHITE, BLACK, 4),
    ),
    V(
        "bed_double_blue",
        "bed",
        "a double bed with a wooden frame, white sheets, two pillows and a blue blanket",
        ("furniture", "bed", "bedroom"),
        partial(bed, BROWN, WHITE, WHITE, BLUE, True),
    ),
    V(
        "bed_single_pink",
        "bed",
        "a single bed with a white frame and a pink blanket",
        ("furniture", "bed", "bedroom"),
        partial(bed, WHITE, CREAM, PINK, PINK, False),
    ),
    V(
        "bed_striped_double",
        "bed",
        "a double bed with a dark frame and a red and white striped duvet",
        ("furniture", "bed", "bedroom", "textured"),
        partial(bed, DARK_BROWN, WHITE, LIGHT_GREY, TEX, True),
        ("stripes", RED, WHITE),
    ),
    V(
        "sofa_grey_three_seat",
        "sofa",
        "a grey three-seat sofa with light grey cushions",
        ("furniture", "sofa", "living room"),
        partial(sofa, GREY, LIGHT_GREY, BLACK, 3),
    ),
    V(
        "sofa_red_loveseat",
        "sofa",
        "a small red two-seat loveseat with dark wooden feet",
        ("furniture", "sofa", "living room"),
        partial(sofa, DARK_RED, RED, DARK_BROWN, 2),
    ),
    V(
        "sofa_teal_four_seat",
        "sofa",
        "a long teal four-seat couch with mustard yellow cushions",
        ("furniture", "sofa", "living room"),
        partial(sofa, TEAL, YELLOW, BLACK, 4),
    ),
    V(
        "bookshelf_wood_colourful",
        "bookshelf",
        "a tall wooden bookshelf full of colourful books",
        ("furniture", "shelf", "books", "textured"),
        partial(bookshelf, TEX, [RED, BLUE, GREEN, YELLOW, PURPLE], 4),
        WOOD,
    ),
    V(
        "bookshelf_white_short",
        "bookshelf",
        "a short wide white bookcase with two shelves of books",
        ("furniture", "shelf", "books"),
        partial(bookshelf, WHITE, [NAVY, DARK_RED, BEIGE], 2, 1.4),
    ),
    V(
        "bookshelf_black_tall",
        "bookshelf",
        "a narrow black bookshelf with five shelves of orange and teal books",
        ("furniture", "shelf", "books"),
        partial(bookshelf, BLACK, [ORANGE, TEAL, CREAM], 5, 0.8),
    ),
    V(
        "bench_park_green",
        "bench",
        "a green park bench with a backrest and black iron legs",
        ("furniture", "bench", "outdoor"),
        partial(bench, GREEN, BLACK, True, 3),
    ),
    V(
        "bench_wooden_plain",
        "bench",
        "a plain wooden bench without a back",
        ("furniture", "bench", "wood", "textured"),
        partial(bench, TEX, WOOD_DARK, False, 2, 1.6),
        WOOD,
    ),
    V(
        "bench_white_garden",
        "bench",
        "a long white garden bench with four slats and a backrest",
        ("furniture", "bench", "outdoor"),
        partial(bench, WHITE, GREY, True, 4, 2.4),
    ),
    V(
        "lamp_floor_cream",
        "lamp",
        "a tall floor lamp with a cream shade and a brass pole",
        ("lighting", "lamp"),
        partial(lamp, GOLD, GOLD, CREAM, 1.8),
    ),
    V(
        "lamp_table_red",
        "lamp",
        "a short table lamp with a wide red shade and a black base",
        ("lighting", "lamp"),
        partial(lamp, BLACK, BLACK, RED, 0.7, 0.35),
    ),
    V(
        "lamp_desk_green",
        "lamp",
        "a green angled desk lamp with a jointed arm",
        ("lighting", "lamp", "desk"),
        partial(desk_lamp, DARK_GREY, GREEN, GREEN),
    ),
    V(
        "ladder_aluminium",
        "ladder",
        "a tall silver aluminium ladder with six rungs",
        ("tool", "ladder", "metal"),
        partial(ladder, SILVER, STEEL, 6, 2.0),
    ),
    V(
        "ladder_wooden_short",
        "ladder",
        "a short wooden step ladder with four round rungs",
        ("tool", "ladder", "wood", "textured"),
        partial(ladder, TEX, WOOD_DARK, 4, 1.2, 0.6),
        WOOD,
    ),
    V(
        "ladder_red_wide",
        "ladder",
        "a wide red ladder with eight yellow rungs",
        ("tool", "ladder"),
        partial(ladder, RED, YELLOW, 8, 2.4, 0.7),
    ),
    V(
        "door_red_panelled",
        "door",
        "a red panelled front door with a brass knob in a white frame",
        ("architecture", "door"),
        partial(door, RED, WHITE, GOLD, True),
    ),
    V(
        "door_wooden_window",
        "door",
        "a wooden door with a small glass window and a silver handle",
        ("architecture", "door", "wood", "textured"),
        partial(door, TEX, WOOD_DARK, SILVER, False, True),
        WOOD,
    ),
    V(
        "door_blue_plain",
        "door",
        "a plain blue door with a black frame and a black knob",
        ("architecture", "door"),
        partial(door, BLUE, BLACK, BLACK, False),
    ),
    V(
        "fence_white_picket",
        "fence",
        "a white picket fence section with pointed pickets",
        ("outdoor", "fence", "garden"),
        partial(fence, WHITE, WHITE, 7, True),
    ),
    V(
        "fence_wooden_flat",
        "fence",
        "a weathered wooden fence with flat-topped boards",
        ("outdoor", "fence", "wood", "textured"),
        partial(fence, TEX, BROWN, 6, False, 1.3),
        WOOD,
    ),
    V(
        "fence_green_short",
        "fence",
        "a short green garden fence with nine pointed posts",
        ("outdoor", "fence", "garden"),
        partial(fence, GREEN, DARK_GREEN, 9, True, 0.6),
    ),
    V(
        "piano_upright_black",
        "piano",
        "a black upright piano with white and black keys",
        ("instrument", "piano", "music"),
        partial(piano, BLACK, WHITE, BLACK),
    ),
    V(
        "piano_wooden_bench",
        "piano",
        "a brown wooden upright piano with a matching bench",
        ("instrument", "piano", "music", "textured"),
        partial(piano, TEX, WHITE, BLACK, WOOD_DARK),
        WOOD,
    ),
    V(
        "piano_white_toy",
        "piano",
        "a white toy piano with a pink bench",
        ("instrument", "piano", "toy"),
        partial(piano, WHITE, CREAM, PINK, PINK),
    ),
    V(
        "clock_wall_round",
        "clock",
        "a round wall clock with a black rim, white face and black hands",
        ("clock", "time", "wall"),
        partial(wall_clock, BLACK, WHITE, BLACK),
    ),
    V(
        "clock_square_wood",
        "clock",
        "a square wooden wall clock with a cream face",
        ("clock", "time", "wood", "textured"),
        partial(wall_clock, TEX, CREAM, DARK_BROWN, 0.5, True),
        WOOD,
    ),
    V(
        "clock_grandfather",
        "clock",
        "a tall grandfather clock with a brass pendulum",
        ("clock", "time", "wood"),
        partial(grandfather_clock, BROWN, CREAM, GOLD),
    ),
]
