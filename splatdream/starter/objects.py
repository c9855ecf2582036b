"""Starter-library small objects: tableware, food, tools, clothing, instruments (front = +Z, +Y up)."""

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
    STEEL,
    TAN,
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
    extrude,
    lathe,
    rod,
    sphere,
    torus,
    turn,
)


def mug(body: Paint, inside: Paint, h: float = 1.0, r: float = 0.4, taper: float = 1.0) -> list[Part]:
    t = 0.04
    prof = [(0, 0), (r, 0), (r * taper, h), (r * taper - t, h), (r - t, t), (0, t)]
    return [
        lathe(prof, paint=body, sections=32),
        cyl(r - t - 0.005, 0.01, (0, t + 0.01, 0), inside),
        torus(h * 0.25, 0.04, (r + h * 0.12, h * 0.5, 0), body, axis="z"),
    ]


def bowl(outer: Paint, r: float = 0.8, depth: float = 0.45, foot: bool = True) -> list[Part]:
    prof = [(r * math.sin(a), depth * (1 - math.cos(a))) for a in [i * math.pi / 2 / 8 for i in range(9)]]
    inner = [(x * 0.93, depth * 0.07 + y * 0.93) for x, y in prof][::-1]
    parts = [lathe(prof + inner, paint=outer, sections=40)]
    if foot:
        parts.append(cyl(r * 0.35, 0.05, (0, 0.0, 0), outer))
    return parts


def vase(body: Paint, profile: list[tuple[float, float]]) -> list[Part]:
    t = 0.03
    inner = [(max(x - t, 0.0), y) for x, y in profile[::-1]]
    return [lathe([(0, 0), *profile, *inner[:-1], (0, t)], paint=body, sections=32)]


def bottle(
    glass: Paint, cap: Paint, label: Paint | None, r: float = 0.3, h: float = 1.4, neck: float = 0.1
) -> list[Part]:
    prof = [(0, 0), (r, 0), (r, h * 0.6), (neck, h * 0.8), (neck, h), (0, h)]
    parts = [lathe(prof, paint=glass, sections=28), cyl(neck + 0.015, 0.1, (0, h + 0.03, 0), cap)]
    if label is not None:
        parts.append(cyl(r + 0.005, h * 0.25, (0, h * 0.3, 0), label, sections=28))
    return parts


def teacup(cup: Paint, saucer: Paint, band: Paint | None = None) -> list[Part]:
    parts = mug(cup, CREAM, 0.5, 0.38, 1.35)
    parts.append(lathe([(0, 0), (0.75, 0.04), (0.8, 0.08), (0, 0.03)], (0, -0.05, 0), saucer, sections=36))
    if band is not None:
        parts.append(lathe([(0.49, 0.4), (0.51, 0.45)], paint=band, sections=32))
    return parts


def kettle(body: Paint, handle: Paint, wide: float = 1.0) -> list[Part]:
    return [
        sphere(0.6, (0, 0.45, 0), body, (wide, 0.75, wide), 3),
        cyl(0.35, 0.1, (0, 0.0, 0), body),
        rod((0, 0.35, 0.45 * wide), (0, 0.8, 0.95 * wide), 0.07, body),
        torus(0.35, 0.05, (0, 0.85, 0), handle, axis="x"),
        sphere(0.08, (0, 0.92, 0), handle),
        cyl(0.25, 0.05, (0, 0.88, 0), body),
    ]


def umbrella(canopy: Paint, shaft: Paint, open_: bool = True, ribs: int = 8) -> list[Part]:
    if not open_:
        return [
            cone(0.12, 1.1, (0, 0.4, 0), canopy, sections=ribs),
            rod((0, 0.1, 0), (0, 1.7, 0), 0.02, shaft),
            torus(0.08, 0.025, (0.08, 0.1, 0), shaft, axis="z"),
        ]
    return [
        lathe(
            [(0, 0.25), (0.5, 0.17), (0.85, 0.0), (0.83, -0.02), (0.5, 0.15), (0, 0.23)],
            (0, 1.3, 0),
            canopy,
            sections=ribs,
        ),
        rod((0, 0.1, 0), (0, 1.7, 0), 0.02, shaft),
        torus(0.08, 0.025, (0.08, 0.1, 0), shaft, axis="z"),
    ]


def sword(blade: Paint, guard: Paint, grip: Paint, length: float = 2.0, curved: bool = False) -> list[Part]:
    w = 0.09
    if curved:
        outline = [(-w, 0), (w, 0), (w + 0.1, length * 0.6), (0.2, length), (-w + 0.1, length * 0.6)]
    else:
        outline = [(-w, 0), (w, 0), (w * 0.9, length * 0.9), (0, length), (-w * 0.9, length * 0.9)]
    return [
        extrude(outline, 0.03, (0, 0.45, 0), blade),
        box((0.5, 0.06, 0.1), (0, 0.45, 0), guard),
        cyl(0.045, 0.35, (0, 0.25, 0), grip),
        sphere(0.07, (0, 0.05, 0), guard),
    ]


def hammer(head: Paint, handle: Paint, claw: bool = True, mallet: bool = False) -> list[Part]:
    parts = [cyl(0.05, 1.2, (0, 0.6, 0), handle)]
    if mallet:
        return [*parts, cyl(0.18, 0.6, (0, 1.25, 0), head, axis="x")]
    parts += [box((0.45, 0.14, 0.14), (0.05, 1.22, 0), head), cyl(0.08, 0.1, (0.3, 1.22, 0), head, axis="x")]
    if claw:
        parts.append(turn(box((0.3, 0.08, 0.1), (-0.3, 1.22, 0), head), -25, "z", about=(-0.17, 1.22, 0)))
    return parts


def guitar(body: Paint, neck: Paint, hole: Paint, electric: bool = False) -> list[Part]:
    parts = [
        cyl(0.42, 0.22, (0, 0.45, 0), body, axis="z", sections=36),
        cyl(0.33, 0.22, (0, 1.0, 0), body, axis="z", sections=36),
        box((0.12, 1.1, 0.06), (0, 1.6, 0.08), neck),
        box((0.18, 0.28, 0.06), (0, 2.25, 0.08), neck),
        box((0.14, 0.04, 0.05), (0, 0.3, 0.12), BLACK),
    ]
    if electric:
        parts += [box((0.3, 0.1, 0.02), (0, 0.6, 0.115), hole), box((0.3, 0.1, 0.02), (0, 0.85, 0.115), hole)]
    else:
        parts.append(cyl(0.13, 0.01, (0, 0.78, 0.11), hole, axis="z"))
    return parts


def top_hat(crown: Paint, band: Paint, h: float = 0.8) -> list[Part]:
    return [
        cyl(0.75, 0.04, (0, 0.02, 0), crown, sections=36),
        cyl(0.45, h, (0, h / 2, 0), crown, sections=36),
        cyl(0.46, 0.12, (0, 0.1, 0), band, sections=36),
    ]


def wizard_hat(cone_paint: Paint, brim: Paint, stars: Paint) -> list[Part]:
    return [
        cyl(0.8, 0.04, (0, 0.02, 0), brim, sections=36),
        turn(cone(0.45, 1.4, (0, 0, 0), cone_paint, sections=36), -12, "x"),
        sphere(0.07, (0.2, 0.5, 0.33), stars),
        sphere(0.05, (-0.15, 0.8, 0.2), stars),
    ]


def cap_hat(crown: Paint, visor: Paint) -> list[Part]:
    return [
        lathe([(0, 0.45), (0.3, 0.4), (0.45, 0.2), (0.48, 0.0), (0, 0.0)], paint=crown, sections=36),
        box((0.6, 0.03, 0.45), (0, 0.02, 0.6), visor),
        sphere(0.05, (0, 0.46, 0), visor),
    ]


def shoe(upper: Paint, sole: Paint, laces: Paint, high: bool = False, heel: bool = False) -> list[Part]:
    parts = [
        box((0.45, 0.1, 1.2), (0, 0.05, 0), sole),
        sphere(0.5, (0, 0.2, 0.08), upper, (0.45, 0.35, 1.1)),
        cyl(0.22, 0.6 if high else 0.3, (0, 0.4 if high else 0.3, -0.3), upper),
    ]
    parts += [box((0.25, 0.03, 0.03), (0, 0.33, 0.1 + 0.1 * k), laces) for k in range(3)]
    if heel:
        parts.append(box((0.2, 0.4, 0.2), (0, -0.15, -0.5), sole))
    return parts


def donut(dough: Paint, icing: Paint, sprinkles: list[Paint]) -> list[Part]:
    parts = [torus(0.5, 0.25, (0, 0, 0), dough), torus(0.5, 0.2, (0, 0.09, 0), icing)]
    for k in range(14):
        a = 2 * math.pi * k / 14
        rr = 0.5 + 0.12 * math.sin(3.1 * k)
        parts.append(
            turn(
                box(
                    (0.08, 0.025, 0.025),
                    (rr * math.cos(a), 0.27, rr * math.sin(a)),
                    sprinkles[k % len(sprinkles)],
                ),
                37 * k,
                "y",
                about=(rr * math.cos(a), 0.27, rr * math.sin(a)),
            )
        )
    return parts


def ice_cream(cone_paint: Paint, scoops: list[Paint], topping: Paint | None = None) -> list[Part]:
    parts = [turn(cone(0.3, 1.0, (0, 0, 0), cone_paint), 180, "x"), cyl(0.3, 0.02, (0, 0, 0), cone_paint)]
    parts[0].mesh.apply_translation((0, 1.0, 0))
    parts[1].mesh.apply_translation((0, 1.0, 0))
    for k, s in enumerate(scoops):
        parts.append(sphere(0.34, (0, 1.15 + 0.42 * k, 0), s))
    if topping is not None:
        parts.append(sphere(0.09, (0, 1.15 + 0.42 * len(scoops) - 0.05, 0), topping))
    return parts


def cake(icing: Paint, sponge: Paint, candles: Paint, tiers: int = 1) -> list[Part]:
    parts, y = [], 0.0
    for k in range(tiers):
        r, h = 0.8 - 0.25 * k, 0.4
        parts += [
            cyl(r, h, (0, y + h / 2, 0), sponge, sections=36),
            cyl(r + 0.01, 0.06, (0, y + h - 0.02, 0), icing, sections=36),
            torus(r, 0.04, (0, y + 0.03, 0), icing),
        ]
        y += h
    r = 0.8 - 0.25 * (tiers - 1)
    for k in range(5):
        a = 2 * math.pi * k / 5
        x, z = 0.55 * r * math.sin(a), 0.55 * r * math.cos(a)
        parts += [
            cyl(0.03, 0.25, (x, y + 0.125, z), candles),
            sphere(0.035, (x, y + 0.29, z), YELLOW, (1, 1.6, 1)),
        ]
    return parts


def apple(skin: Paint, leaf: Paint, tall: float = 0.9) -> list[Part]:
    return [
        sphere(0.5, (0, 0.5 * tall, 0), skin, (1, tall, 1), 3),
        rod((0, 0.85 * tall, 0), (0.05, 1.15 * tall, 0), 0.025, DARK_BROWN),
        turn(
            sphere(0.12, (0.17, 1.05 * tall, 0), leaf, (1.0, 0.25, 0.5)),
            25,
            "z",
            about=(0.05, 1.05 * tall, 0),
        ),
    ]


def banana(peel: Paint, tip: Paint, bend: float = 1.0, n: int = 1) -> list[Part]:
    parts = []
    for b in range(n):
        pts = [
            (0.9 * math.sin(t) * 1.0, 0.9 * (1 - math.cos(t)) * bend, 0.12 * b - 0.06 * (n - 1))
            for t in [(-0.9 + 1.8 * i / 8) for i in range(9)]
        ]
        for i in range(8):
            r = 0.12 * math.sin(math.pi * (i + 0.5) / 8) + 0.03
            parts.append(rod(pts[i], pts[i + 1], r, peel))
            parts.append(sphere(r, pts[i + 1], peel, subdivisions=1))
        parts.append(sphere(0.035, pts[0], tip))
        parts.append(rod(pts[-1], (pts[-1][0] + 0.08, pts[-1][1] + 0.05, pts[-1][2]), 0.03, tip))
    return parts


def mushroom(cap: Paint, stem: Paint, dots: Paint | None, flat: float = 1.0) -> list[Part]:
    prof = [(0.8 * math.sin(a), 0.55 * flat * math.cos(a)) for a in [i * math.pi / 2 / 8 for i in range(9)]]
    parts = [
        cyl(0.18, 0.7, (0, 0.35, 0), stem),
        lathe([*prof[::-1], (0.0, 0.0)], (0, 0.65, 0), cap, sections=32),
    ]
    if dots is not None:
        for k in range(7):
            a, el = 2 * math.pi * k / 7, 0.5 + 0.25 * (k % 2)
            parts.append(
                sphere(
                    0.08,
                    (
                        0.8 * math.sin(el) * math.sin(a),
                        0.65 + 0.55 * flat * math.cos(el),
                        0.8 * math.sin(el) * math.cos(a),
                    ),
                    dots,
                    (1, 0.5, 1),
                )
            )
    return parts


def ball(paint: Paint, seams: Paint | None = None, squash: float = 1.0) -> list[Part]:
    parts = [sphere(0.5, (0, 0, 0), paint, (1, squash, 1), 3)]
    if seams is not None:
        parts += [torus(0.5, 0.012, (0, 0, 0), seams, axis=a) for a in ("x", "y", "z")]
    return parts


V = Variant
VARIANTS: list[Variant] = [
    V(
        "mug_red_coffee",
        "mug",
        "a red coffee mug with a white inside and a round handle",
        ("kitchen", "mug", "drink"),
        partial(mug, RED, WHITE),
    ),
    V(
        "mug_checker_blue",
        "mug",
        "a blue and white checkered ceramic mug",
        ("kitchen", "mug", "textured"),
        partial(mug, TEX, WHITE, 0.9, 0.42),
        ("checker", BLUE, WHITE),
    ),
    V(
        "mug_tall_black",
        "mug",
        "a tall black travel mug that widens at the top",
        ("kitchen", "mug"),
        partial(mug, BLACK, DARK_GREY, 1.4, 0.35, 1.15),
    ),
    V(
        "bowl_white_ceramic",
        "bowl",
        "a white ceramic bowl on a small foot",
        ("kitchen", "bowl", "ceramic"),
        partial(bowl, WHITE),
    ),
    V(
        "bowl_wooden_salad",
        "bowl",
        "a wide shallow wooden salad bowl",
        ("kitchen", "bowl", "wood", "textured"),
        partial(bowl, TEX, 1.0, 0.35, False),
        ("wood", WOOD_LIGHT, WOOD_DARK),
    ),
    V(
        "bowl_deep_teal",
        "bowl",
        "a deep teal soup bowl",
        ("kitchen", "bowl"),
        partial(bowl, TEAL, 0.6, 0.55, True),
    ),
    V(
        "vase_blue_amphora",
        "vase",
        "a tall blue vase with a narrow neck and a flared lip",
        ("decor", "vase"),
        partial(vase, BLUE, [(0.25, 0), (0.45, 0.4), (0.18, 1.0), (0.15, 1.3), (0.28, 1.45)]),
    ),
    V(
        "vase_marble_round",
        "vase",
        "a round white marble vase with grey veins",
        ("decor", "vase", "stone", "textured"),
        partial(vase, TEX, [(0.3, 0), (0.55, 0.35), (0.4, 0.75), (0.25, 0.85)]),
        ("marble", WHITE, GREY),
    ),
    V(
        "vase_cylinder_orange",
        "vase",
        "a simple straight orange cylinder vase",
        ("decor", "vase"),
        partial(vase, ORANGE, [(0.25, 0), (0.25, 1.2)]),
    ),
    V(
        "bottle_green_wine",
        "bottle",
        "a dark green wine bottle with a cream label and a red foil cap",
        ("kitchen", "bottle", "drink"),
        partial(bottle, DARK_GREEN, DARK_RED, CREAM, 0.3, 1.5, 0.1),
    ),
    V(
        "bottle_water_blue",
        "bottle",
        "a light blue plastic water bottle with a white cap",
        ("bottle", "drink", "plastic"),
        partial(bottle, SKY, WHITE, None, 0.28, 1.2, 0.14),
    ),
    V(
        "bottle_brown_beer",
        "bottle",
        "a short brown beer bottle with a gold cap and a yellow label",
        ("kitchen", "bottle", "drink"),
        partial(bottle, BROWN, GOLD, YELLOW, 0.25, 1.0, 0.09),
    ),
    V(
        "cup_tea_white",
        "cup",
        "a white porcelain teacup on a saucer with a gold band",
        ("kitchen", "cup", "tea"),
        partial(teacup, WHITE, WHITE, GOLD),
    ),
    V(
        "cup_tea_pink",
        "cup",
        "a pink teacup on a matching pink saucer",
        ("kitchen", "cup", "tea"),
        partial(teacup, PINK, PINK),
    ),
    V(
        "cup_dotted_green",
        "cup",
        "a green polka-dot teacup on a white saucer",
        ("kitchen", "cup", "tea", "textured"),
        partial(teacup, TEX, WHITE),
        ("dots", GREEN, WHITE),
    ),
    V(
        "kettle_silver",
        "kettle",
        "a shiny silver kettle with a black handle and a spout",
        ("kitchen", "kettle", "teapot", "metal"),
        partial(kettle, SILVER, BLACK),
    ),
    V(
        "kettle_red_enamel",
        "kettle",
        "a wide red enamel kettle with a cream handle",
        ("kitchen", "kettle", "teapot"),
        partial(kettle, RED, CREAM, 1.2),
    ),
    V(
        "kettle_green_narrow",
        "kettle",
        "a narrow green kettle with a wooden handle",
        ("kitchen", "kettle", "teapot"),
        partial(kettle, GREEN, WOOD_DARK, 0.8),
    ),
    V(
        "umbrella_red_open",
        "umbrella",
        "an open red umbrella with a black handle",
        ("accessory", "umbrella", "rain"),
        partial(umbrella, RED, BLACK),
    ),
    V(
        "umbrella_striped",
        "umbrella",
        "an open beach umbrella with yellow and white stripes",
        ("accessory", "umbrella", "beach", "textured"),
        partial(umbrella, TEX, WHITE, True, 16),
        ("stripes", YELLOW, WHITE),
    ),
    V(
        "umbrella_closed_navy",
        "umbrella",
        "a closed navy blue umbrella with a silver hook handle",
        ("accessory", "umbrella"),
        partial(umbrella, NAVY, SILVER, False),
    ),
    V(
        "sword_steel_long",
        "sword",
        "a long steel sword with a gold crossguard and a brown grip",
        ("weapon", "sword", "medieval"),
        partial(sword, STEEL, GOLD, BROWN),
    ),
    V(
        "sword_curved_sabre",
        "sword",
        "a curved sabre with a black grip and a silver guard",
        ("weapon", "sword"),
        partial(sword, SILVER, SILVER, BLACK, 1.8, True),
    ),
    V(
        "sword_wooden_toy",
        "sword",
        "a short wooden toy sword",
        ("toy", "sword", "wood", "textured"),
        partial(sword, TEX, TEX, RED, 1.2),
        ("wood", WOOD_LIGHT, WOOD_DARK),
    ),
    V(
        "hammer_claw",
        "hammer",
        "a claw hammer with a steel head and a wooden handle",
        ("tool", "hammer"),
        partial(hammer, STEEL, WOOD_LIGHT),
    ),
    V(
        "hammer_red_handle",
        "hammer",
        "a hammer with a black head and a red handle",
        ("tool", "hammer"),
        partial(hammer, DARK_GREY, RED, False),
    ),
    V(
        "hammer_mallet",
        "hammer",
        "a wooden mallet with a round barrel head",
        ("tool", "hammer", "mallet", "wood", "textured"),
        partial(hammer, TEX, WOOD_DARK, False, True),
        ("wood", WOOD_LIGHT, WOOD_DARK),
    ),
    V(
        "guitar_acoustic",
        "guitar",
        "an acoustic guitar with a wooden body and a round sound hole",
        ("instrument", "guitar", "music", "textured"),
        partial(guitar, TEX, DARK_BROWN, BLACK),
        ("wood", (220, 170, 100), (170, 110, 50)),
    ),
    V(
        "guitar_electric_red",
        "guitar",
        "a red electric guitar with black pickups",
        ("instrument", "guitar", "music"),
        partial(guitar, RED, CREAM, BLACK, True),
    ),
    V(
        "guitar_blue_electric",
        "guitar",
        "a sky blue electric guitar with a maple neck",
        ("instrument", "guitar", "music"),
        partial(guitar, SKY, WOOD_LIGHT, WHITE, True),
    ),
    V(
        "hat_top_black",
        "hat",
        "a black top hat with a red band",
        ("clothing", "hat"),
        partial(top_hat, BLACK, RED),
    ),
    V(
        "hat_wizard_purple",
        "hat",
        "a purple pointed wizard hat with gold stars",
        ("clothing", "hat", "magic"),
        partial(wizard_hat, PURPLE, PURPLE, GOLD),
    ),
    V(
        "hat_baseball_cap",
        "hat",
        "a green baseball cap with a white visor",
        ("clothing", "hat", "cap"),
        partial(cap_hat, GREEN, WHITE),
    ),
    V(
        "shoe_sneaker_white",
        "shoe",
        "a white sneaker with a grey sole and red laces",
        ("clothing", "shoe"),
        partial(shoe, WHITE, GREY, RED),
    ),
    V(
        "shoe_boot_brown",
        "shoe",
        "a tall brown leather boot",
        ("clothing", "shoe", "boot"),
        partial(shoe, BROWN, DARK_BROWN, TAN, True),
    ),
    V(
        "shoe_heel_red",
        "shoe",
        "a red high-heeled shoe with a black heel",
        ("clothing", "shoe"),
        partial(shoe, RED, BLACK, RED, False, True),
    ),
    V(
        "donut_pink_sprinkles",
        "donut",
        "a donut with pink icing and rainbow sprinkles",
        ("food", "donut", "dessert"),
        partial(donut, TAN, PINK, [RED, YELLOW, BLUE, GREEN, WHITE]),
    ),
    V(
        "donut_chocolate",
        "donut",
        "a chocolate glazed donut with white sprinkles",
        ("food", "donut", "dessert"),
        partial(donut, TAN, DARK_BROWN, [WHITE]),
    ),
    V(
        "donut_plain_sugar",
        "donut",
        "a plain golden donut dusted with sugar",
        ("food", "donut", "textured"),
        partial(donut, TEX, TEX, [WHITE, CREAM]),
        ("dots", (215, 160, 90), WHITE),
    ),
    V(
        "icecream_strawberry",
        "ice cream cone",
        "a waffle cone with a scoop of strawberry ice cream and a cherry",
        ("food", "ice cream", "dessert", "textured"),
        partial(ice_cream, TEX, [PINK], RED),
        ("checker", (210, 150, 80), (170, 110, 50)),
    ),
    V(
        "icecream_triple",
        "ice cream cone",
        "a cone with three scoops: mint, chocolate and vanilla",
        ("food", "ice cream", "dessert"),
        partial(ice_cream, TAN, [(170, 230, 190), DARK_BROWN, CREAM]),
    ),
    V(
        "icecream_chocolate_double",
        "ice cream cone",
        "a tan cone with two scoops of chocolate ice cream",
        ("food", "ice cream", "dessert"),
        partial(ice_cream, TAN, [BROWN, DARK_BROWN]),
    ),
    V(
        "cake_birthday_pink",
        "cake",
        "a round birthday cake with pink icing and five lit candles",
        ("food", "cake", "dessert"),
        partial(cake, PINK, CREAM, SKY),
    ),
    V(
        "cake_wedding_tiered",
        "cake",
        "a three-tier white wedding cake",
        ("food", "cake", "dessert"),
        partial(cake, WHITE, CREAM, GOLD, 3),
    ),
    V(
        "cake_chocolate_two",
        "cake",
        "a two-layer chocolate cake with white candles",
        ("food", "cake", "dessert"),
        partial(cake, DARK_BROWN, BROWN, WHITE, 2),
    ),
    V(
        "apple_red",
        "apple",
        "a shiny red apple with a green leaf",
        ("food", "fruit", "apple"),
        partial(apple, RED, GREEN),
    ),
    V(
        "apple_green",
        "apple",
        "a green apple with a brown stem and a small leaf",
        ("food", "fruit", "apple"),
        partial(apple, LIME, DARK_GREEN, 1.0),
    ),
    V(
        "apple_yellow_squat",
        "apple",
        "a squat yellow apple",
        ("food", "fruit", "apple"),
        partial(apple, YELLOW, GREEN, 0.75),
    ),
    V(
        "banana_yellow",
        "banana",
        "a ripe curved yellow banana",
        ("food", "fruit", "banana"),
        partial(banana, YELLOW, DARK_BROWN),
    ),
    V(
        "banana_green_bunch",
        "banana",
        "a bunch of three unripe green bananas",
        ("food", "fruit", "banana"),
        partial(banana, LIME, DARK_GREEN, 0.8, 3),
    ),
    V(
        "banana_spotted",
        "banana",
        "an overripe spotted banana",
        ("food", "fruit", "banana", "textured"),
        partial(banana, TEX, BLACK, 1.2),
        ("dots", YELLOW, BROWN),
    ),
    V(
        "mushroom_toadstool",
        "mushroom",
        "a red toadstool mushroom with white spots",
        ("nature", "mushroom", "fungus"),
        partial(mushroom, RED, CREAM, WHITE),
    ),
    V(
        "mushroom_brown_flat",
        "mushroom",
        "a brown mushroom with a flat cap",
        ("nature", "mushroom", "fungus"),
        partial(mushroom, BROWN, CREAM, None, 0.5),
    ),
    V(
        "mushroom_blue_tall",
        "mushroom",
        "a fantasy blue mushroom with a tall cap and yellow spots",
        ("nature", "mushroom", "fantasy"),
        partial(mushroom, BLUE, LIGHT_GREY, YELLOW, 1.4),
    ),
    V(
        "ball_beach_bands",
        "ball",
        "an inflatable beach ball with broad red and white bands",
        ("toy", "ball", "beach", "textured"),
        partial(ball, TEX),
        ("bands", RED, WHITE),
    ),
    V(
        "ball_basketball",
        "ball",
        "an orange basketball with black seams",
        ("toy", "ball", "sport"),
        partial(ball, ORANGE, BLACK),
    ),
    V(
        "ball_rugby_brown",
        "ball",
        "a squashed brown leather ball with white seams",
        ("toy", "ball", "sport"),
        partial(ball, BROWN, WHITE, 0.8),
    ),
]
