"""Captions from a small grammar: synonyms, shuffled word order and optional detail, with held-out phrasings."""

from __future__ import annotations

import numpy as np

from videogen.errors import UsageError
from videogen.world.scene import Scene

VOCABULARIES = ("train", "heldout")

# attribute -> value -> (training phrases, held-out phrases). An empty phrase means "say nothing". A training phrase
# borrows no distinctive word from the held-out one, which measures how far the text encoder generalises.
PHRASES: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "time": {
        "noon": (("at noon", "at midday", "in bright midday sun", "in the middle of the day", "in full daylight",
                  "at lunchtime", "in harsh overhead light", "with the sun overhead", "in broad daylight"),
                 ("under the high noon sun",)),
        "dawn": (("at dawn", "at first light", "in the early morning", "as the night fades",
                  "in the pale light of dawn", "at the crack of dawn", "in the predawn glow",
                  "as the sky lightens"),
                 ("at daybreak",)),
        "sunrise": (("at sunrise", "as the sun rises", "as the morning sun appears", "at the rising of the sun",
                     "in the new morning sun", "in the first rays of sunshine", "with the sun low in the east",
                     "at the start of the day"),
                    ("at sunup",)),
        "golden_hour": (("at golden hour", "in the golden light of late afternoon", "in warm late-afternoon light",
                         "in low warm sunlight", "in the late afternoon", "in honey-coloured light",
                         "bathed in golden light", "in soft amber light"),
                        ("at magic hour",)),
        "sunset": (("at sunset", "as the sun sets", "in the setting sun", "at the close of day",
                    "in the red evening sun", "with the sun sinking low", "as daylight ends", "in a fiery evening sky"),
                   ("at sundown",)),
        "dusk": (("at dusk", "at twilight", "at nightfall", "as evening falls", "in the evening half-light",
                  "as darkness gathers", "in the fading light of evening", "in early evening"),
                 ("in the blue hour",)),
        "night": (("at night", "in the dark of night", "after dark", "under the stars", "at midnight",
                   "on a dark night", "late at night", "beneath a starry sky"),
                  ("by moonlight",)),
    },
    "clouds": {
        "clear": (("under a cloudless sky", "with clear skies", "under a clear sky", "with no clouds",
                   "without a cloud", "under an open sky", "with a spotless sky", "on a cloudless day"),
                  ("beneath an empty blue dome",)),
        "scattered": (("with scattered clouds", "with puffy clouds", "with a few clouds", "with patchy white clouds",
                       "with a handful of clouds", "with drifting clouds", "with broken clouds",
                       "with some white clouds"),
                      ("with fair-weather cumulus",)),
        "overcast": (("under an overcast sky", "under grey clouds", "under thick cloud cover", "on a dull cloudy day",
                      "beneath heavy clouds", "with a grey sky", "under a blanket of cloud", "with low grey cloud"),
                     ("under a leaden sky",)),
    },
    "terrain": {
        "mountains": (("mountains", "snowy peaks", "a mountain range", "tall mountains", "rugged peaks",
                       "high mountains", "jagged mountains", "a mountain ridge", "towering peaks"),
                      ("alpine summits",)),
        "hills": (("rolling hills", "green hills", "grassy hills", "a hilly landscape", "low hills", "grassy slopes",
                   "undulating hills", "soft rounded hills"),
                  ("gentle downs",)),
        "dunes": (("sand dunes", "dunes", "tall sand dunes", "curving dunes", "sandy dunes", "windswept dunes",
                   "sweeping dunes", "high dunes"),
                  ("rippled dunes",)),
        "city": (("a city skyline", "city towers", "skyscrapers", "tall city buildings", "a cityscape", "urban towers",
                  "high-rise towers", "a metropolis"),
                 ("a downtown skyline",)),
    },
    "water": {
        "none": (("",), ("",)),
        "lake": (("a lake", "a calm lake", "a quiet lake", "a lakeshore", "a small lake", "a glassy lake",
                  "a deep lake", "a peaceful lake"),
                 ("a still mere",)),
        "sea": (("the sea", "the ocean", "the open sea", "ocean waves", "the seashore", "a calm sea", "the coast",
                 "the ocean shore"),
                ("a wide bay",)),
    },
    "ground": {
        "grass": (("green meadows", "grassland", "grassy fields", "a meadow", "green grass", "a grassy plain",
                   "fields of grass", "a green field"),
                  ("lush pasture",)),
        "desert": (("desert sand", "dry desert", "a sandy desert", "barren desert ground", "sandy ground", "dry sand",
                    "a barren desert plain", "desert flats"),
                   ("arid wasteland",)),
        "snow": (("snowfields", "snow-covered ground", "snowy ground", "a blanket of snow", "deep snow", "snowy fields",
                  "white snow", "a snowy plain"),
                 ("fresh powder",)),
        "rock": (("rocky ground", "bare rock", "rocky terrain", "boulders", "rocky land", "rough rock", "a rocky plain",
                  "grey rocks"),
                 ("stony scree",)),
    },
    "vegetation": {
        "none": (("",), ("",)),
        "trees": (("scattered trees", "a few pine trees", "some trees", "sparse trees", "a handful of trees",
                   "isolated trees", "a few trees", "dotted trees"),
                  ("lone conifers",)),
        "forest": (("a dense forest", "pine woods", "a pine forest", "a deep forest", "dense woods", "a wild forest",
                    "a forest of pines", "an evergreen forest"),
                   ("thick woodland",)),
    },
    "weather": {
        "clear": (("in clear weather", "", "in fine weather", "on a dry day", "in good weather", "on a fine day",
                   "in dry weather"),
                  ("in calm weather",)),
        "fog": (("in thick fog", "in the mist", "in dense fog", "wrapped in mist", "in foggy weather", "in heavy mist",
                 "in low fog", "through the fog"),
                ("shrouded in haze",)),
        "snow": (("while snow falls", "in falling snow", "in a snowfall", "as it snows", "in snowy weather",
                  "with snowflakes falling", "during snowfall", "as snow comes down"),
                 ("in a blizzard",)),
        "rain": (("in the rain", "in pouring rain", "in heavy rain", "on a rainy day", "in rainy weather",
                  "with rain falling", "in a rain shower", "in steady rain"),
                 ("during a downpour",)),
    },
    "subject": {
        "none": (("",), ("",)),
        "balloon": (("a hot-air balloon drifting", "a hot air balloon", "a balloon in the sky", "a floating balloon",
                     "a colourful hot-air balloon", "a balloon floating", "a big balloon", "a drifting balloon"),
                    ("a montgolfier aloft",)),
        "birds": (("a flock of birds", "birds flying", "birds in the sky", "several birds", "birds overhead",
                   "a group of birds", "a few birds", "birds on the wing"),
                  ("a flight of swallows",)),
        "boat": (("a sailboat", "a small sailing boat", "a boat on the water", "a white sailboat", "a little boat",
                  "a fishing boat", "a rowing boat", "a small boat"),
                 ("a yacht under sail",)),
        "kite": (("a kite", "a colourful kite flying", "a kite in the sky", "a flying kite", "a red kite",
                  "a kite high up", "a kite on a string", "a bright kite"),
                 ("a diamond kite in the wind",)),
    },
    "look": {
        "natural": (("", "a photo of", "a photograph of", "a picture of", "a snapshot of", "a landscape photo of",
                     "an image of"),
                    ("a realistic shot of",)),
        "watercolor": (("a watercolor painting of", "a watercolour of", "a soft watercolor painting of",
                        "a painted watercolor of", "watercolor art of", "a delicate watercolour of",
                        "a watercolor landscape of"),
                       ("an aquarelle of",)),
        "pixel_art": (("pixel art of", "8-bit pixel art of", "a pixelated image of", "low-res pixel art of",
                       "16-bit pixel art of", "a pixel art scene of", "blocky pixel art of"),
                      ("retro game sprite art of",)),
        "ink_sketch": (("an ink sketch of", "a pen and ink drawing of", "a black ink drawing of",
                        "an ink illustration of", "a pen sketch of", "an ink drawing of", "a quick ink sketch of"),
                       ("a brush-and-ink study of",)),
        "film70s": (("a 1970s film photo of", "vintage 70s film of", "an old 1970s photograph of",
                     "a grainy 70s photo of", "a seventies photograph of", "an old film photo of", "a 1970s snapshot of"),
                    ("a faded super 8 still of",)),
    },
}

CAMERA_PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "static": (("static camera", "still camera"), ("locked-off tripod shot",)),
    "pan_left": (("pan to the left", "camera pans left"), ("sweeping the view leftward",)),
    "pan_right": (("pan to the right", "camera pans right"), ("sweeping the view rightward",)),
    "tilt_up": (("tilt up", "camera tilts upward"), ("the view lifts skyward",)),
    "tilt_down": (("tilt down", "camera tilts downward"), ("the view drops toward the ground",)),
    "zoom_in": (("zoom in", "camera zooms in"), ("push the lens closer",)),
    "zoom_out": (("zoom out", "camera zooms out"), ("pull the lens wider",)),
    "roll_cw": (("camera rolls clockwise", "clockwise roll"), ("the horizon tips clockwise",)),
    "roll_ccw": (("camera rolls counterclockwise", "counterclockwise roll"), ("the horizon tips anticlockwise",)),
    "dolly_in": (("dolly in", "camera moves forward"), ("the camera glides ahead",)),
    "dolly_out": (("dolly out", "camera moves backward"), ("the camera retreats",)),
    "truck_left": (("truck left", "camera slides left"), ("a sideways glide to the left",)),
    "truck_right": (("truck right", "camera slides right"), ("a sideways glide to the right",)),
    "pedestal_up": (("pedestal up", "camera rises"), ("the camera climbs straight up",)),
    "pedestal_down": (("pedestal down", "camera lowers"), ("the camera sinks straight down",)),
    "orbit_left": (("orbit left", "camera circles left"), ("an arc around to the left",)),
    "orbit_right": (("orbit right", "camera circles right"), ("an arc around to the right",)),
    "crane_up": (("crane up", "crane shot rising"), ("a boom sweeping upward",)),
    "crane_down": (("crane down", "crane shot descending"), ("a boom sweeping downward",)),
}
SPEED_WORDS = ((0.5, ("slow", "gentle")), (0.85, ("",)), (np.inf, ("fast", "quick")))
JOINING_WORDS = ("above", "below", "on")  # the words caption() joins a scene's phrases with
OPTIONAL_DETAIL = 0.75  # chance each detail phrase appears in a caption that is not complete


def training_vocabulary() -> dict:
    """What a model trained on these captions knows, as a pipeline's `vocabulary` (videogen.vocabulary): every training
    phrase (the camera's reserved: never written by a rewrite), the words that join them and the speed words; no
    held-out phrase."""
    scene = [text for values in PHRASES.values() for train, _ in values.values() for text in train]
    camera = [text for train, _ in CAMERA_PHRASES.values() for text in train]
    speed = [word for _, words in SPEED_WORDS for word in words]
    return {"phrases": list(dict.fromkeys(text for text in scene if text)), "reserved_phrases": camera,
            "joining_words": list(JOINING_WORDS), "words": [word for word in speed if word]}


def _pick(rng: np.random.Generator, choices: tuple[str, ...]) -> str:
    return choices[rng.integers(len(choices))]


def phrase(attribute: str, value: str, rng: np.random.Generator, vocabulary: str = "train") -> str:
    """One phrase for an attribute value, from the training or the held-out synonyms."""
    train, heldout = PHRASES[attribute][value]
    return _pick(rng, train if vocabulary == "train" else heldout)


def camera_phrase(spec: str, rng: np.random.Generator, vocabulary: str = "train") -> str:
    """Words for a single-preset camera spec 'preset[:intensity][@easing]': speed word plus move."""
    preset, _, rest = spec.partition(":")
    preset = preset.partition("@")[0].strip()
    if preset not in CAMERA_PHRASES:
        raise UsageError(f"world camera {spec!r} has no caption words; allowed presets: {', '.join(CAMERA_PHRASES)}")
    train, heldout = CAMERA_PHRASES[preset]
    words = _pick(rng, train if vocabulary == "train" else heldout)
    if preset == "static":
        return words
    intensity = float(rest.partition("@")[0] or 1.0)
    speed = _pick(rng, next(words for limit, words in SPEED_WORDS if intensity < limit))
    return f"{speed} {words}".strip()


def caption(scene: Scene, rng: np.random.Generator, vocabulary: str = "train", complete: bool = False) -> str:
    """A caption for a scene: '[look] terrain by water on ground, details in random order, camera'.

    Details (time, clouds, vegetation, weather, subject) each appear with probability OPTIONAL_DETAIL unless
    complete is set; the time of day and the camera always appear."""
    if vocabulary not in VOCABULARIES:
        raise UsageError(f"world caption vocabulary {vocabulary!r} is unknown; allowed: {', '.join(VOCABULARIES)}")
    say = lambda attribute: phrase(attribute, getattr(scene, attribute), rng, vocabulary)
    terrain, water, ground = say("terrain"), say("water"), say("ground")
    setting = [f"{terrain} above {water}" if water else terrain, f"{water} below {terrain}" if water else terrain]
    core = f"{_pick(rng, tuple(setting))} on {ground}" if complete or rng.random() < OPTIONAL_DETAIL else setting[0]
    details = [say("time")]
    for attribute in ("clouds", "vegetation", "weather", "subject"):
        if complete or rng.random() < OPTIONAL_DETAIL:
            details.append(say(attribute))
    details = [details[i] for i in rng.permutation(len(details)) if details[i]]
    look = say("look")
    text = ", ".join([f"{look} {core}".strip(), *details, camera_phrase(scene.camera, rng, vocabulary)])
    return text[0].upper() + text[1:]
