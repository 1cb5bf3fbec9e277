"""Word lists the knowledge base combines into entity names.

All names are invented: combining short lists gives hundreds of distinct entities per type, so generated
tasks are diverse, and no name points at a real person, place or product.
"""

from __future__ import annotations

__all__ = [
    "ADJECTIVES",
    "AIRLINE_WORDS",
    "ANIMALS",
    "BRAND_ROOTS",
    "CITY_ENDS",
    "CITY_STARTS",
    "COLORS",
    "COMPANY_ENDS",
    "CONDITIONS",
    "COUNTRY_ROOTS",
    "COURSE_SUBJECTS",
    "CUISINES",
    "CURRENCIES",
    "DISHES",
    "DRUG_CLASSES",
    "EVENT_KINDS",
    "EVENT_TOPICS",
    "FIRST_NAMES",
    "FOOD_ADJECTIVES",
    "GENRES_BOOK",
    "GENRES_MOVIE",
    "GENRES_MUSIC",
    "INGREDIENTS",
    "LANDMARK_KINDS",
    "LANGUAGES",
    "LAST_NAMES",
    "MASCOTS",
    "MED_ENDS",
    "MED_STARTS",
    "NOUNS",
    "OCCUPATIONS",
    "PRODUCT_KINDS",
    "PRODUCT_STYLES",
    "SECTORS",
    "SPECIALTIES",
    "SPORTS",
    "STORE_KINDS",
]


def _words(text: str) -> tuple[str, ...]:
    """Split a block of space-separated words (keeps the lists compact and readable)."""
    return tuple(text.split())


ADJECTIVES = _words(
    "Glass Silent Hollow Crimson Amber Distant Quiet Broken Golden Hidden Winter Paper Iron Velvet Salt "
    "Burning Frozen Wandering Lost Secret Northern Bitter Gentle Restless Shattered Sleeping Painted "
    "Midnight Copper Silver Wild Lonely Narrow Endless Fading Open Second Last Bright"
)
AIRLINE_WORDS = _words("Skyward Northwind Bluebird Horizon Meridian Polar Sunline Crestline Aurora Swift")
ANIMALS = _words("Fox Heron Otter Badger Stag Raven Hare Lynx Owl Falcon Boar Swan Wolf Crane")
BRAND_ROOTS = _words("Norvik Kalda Brixo Selva Tundra Vantor Olmo Quill Marra Fjell Zuma Pico")
CITY_ENDS = _words("ford mere haven dale port stead wick bury mont ara ino ova ville holm gate")
CITY_STARTS = _words(
    "Ald Bel Cor Dun Esk Fal Gar Hal Ist Jor Kel Lin Mar Nor Ost Pel Quen Ros Sal Tor Ul Val Wes Yar Zan "
    "Brin Cas Del Fen Lor"
)
COLORS = _words("Blue Red Green Golden Silver Black White Copper Scarlet Olive Indigo Amber")
COMPANY_ENDS = _words("Systems Industries Labs Group Holdings Dynamics Works")
CONDITIONS = ("sunny", "cloudy", "rainy", "windy", "foggy", "snowy", "partly cloudy", "stormy")
COUNTRY_ROOTS = _words(
    "Valdor Esteran Korvan Lumir Ostrav Pellan Quiren Sardos Tamir Ulmar Veskar Wendar Zolan Bralin "
    "Carvel Drovan Ferrin Galdor Heskar Irvan Jelmar Kastor Lorvan Mirdan"
)
COURSE_SUBJECTS = (
    "Marine Biology",
    "Linear Algebra",
    "Medieval History",
    "Organic Chemistry",
    "Urban Planning",
    "Macroeconomics",
    "Data Structures",
    "Art History",
    "Astrophysics",
    "Moral Philosophy",
    "Cell Biology",
    "Public Speaking",
)
CUISINES = _words("Italian Japanese Mexican Indian Thai French Greek Lebanese Korean")
CURRENCIES = _words("USD EUR GBP JPY CHF CAD AUD SEK NOK INR BRL MXN ZAR")
DISHES = _words("Stew Curry Salad Risotto Tacos Soup Pie Skewers Bowl Casserole Dumplings Noodles")
DRUG_CLASSES = ("analgesic", "antihistamine", "beta blocker", "statin", "antibiotic", "antacid")
EVENT_KINDS = _words("Review Summit Workshop Retreat Briefing Fair Forum Meetup")
EVENT_TOPICS = _words("Budget Design Product Safety Marketing Research Hiring Roadmap Training Community")
FIRST_NAMES = _words(
    "Ada Bram Celia Dorian Elsa Faris Greta Hugo Ines Jonas Kira Lionel Mara Nico Odile Pavel Quinn Rosa "
    "Silas Tamsin Ulla Viktor Wren Xavi Yara Zeno Aurel Bettina Caspar Delphine Emil Fenna Gideon Hanne "
    "Ivo Juno Kasimir Liesel Marek Nadia Oren Petra Rufus Sabine Teodor Una Vesna Wilma Anselm Brigid "
    "Cyrus Dagny Elio Freya Gustav Hilde Imre Jasna Konrad Lotte"
)
FOOD_ADJECTIVES = _words("Smoky Spiced Creamy Roasted Crispy Zesty Braised Golden Rustic Herbed Tangy Sweet")
GENRES_BOOK = (
    "mystery",
    "science fiction",
    "fantasy",
    "romance",
    "history",
    "biography",
    "thriller",
    "poetry",
)
GENRES_MOVIE = _words("drama comedy action thriller animation documentary horror adventure")
GENRES_MUSIC = ("rock", "jazz", "pop", "folk", "electronic", "hip hop", "classical", "soul")
INGREDIENTS = _words(
    "lentil chickpea salmon mushroom pumpkin spinach chicken tofu eggplant shrimp beef potato quinoa "
    "cauliflower lamb barley"
)
LANDMARK_KINDS = _words("Tower Bridge Gate Monument Fountain Cathedral Lighthouse")
LANGUAGES = _words("Valdorese Esteric Korvish Lumiran Ostravic Pellanese Quirish Sardic Tamiri Ulmaran")
LAST_NAMES = _words(
    "Ashdown Brightwater Calloway Dunmore Eckhart Fairlie Galloway Hartwell Ingram Jessop Kettering "
    "Lindqvist Marlowe Northcott Oakhurst Pemberton Quarrie Rushford Sandoval Thornbury Upwood Vasquez "
    "Whitlock Yardley Zellner Abernathy Blackwood Crane Delacroix Ellingham Forsythe Greenleaf Holloway "
    "Ivanova Jardine Kowalczyk Lockhart Merriweather Nakamura Okonkwo Prescott Quintero Redgrave Stavros "
    "Tennant Umberto Valdez Winslow Yoshida Zamora Alcott Bellamy Castellan Drummond Everly Fenwick "
    "Granger Huxley Iverson"
)
MASCOTS = _words("Falcons Rovers Titans Comets Wolves Mariners Rangers Hornets Pilots Lions Stags Ravens")
MED_ENDS = _words("azin opril statin olol amide ifen exine ocaine")
MED_STARTS = _words("Vel Zor Cal Min Tra Dex Lor Ben Fil Mar Sen Pro Ami Oxa")
NOUNS = _words(
    "Orchard Harbor Lantern River Garden Mirror Compass Meadow Tide Cathedral Island Letter Bridge Forest "
    "Archive Summer Kingdom Lighthouse Mountain Window Station Clockwork Sparrow Voyage Valley Shore "
    "Feather Horizon Ember Canyon Labyrinth Orchid Citadel Current Promise Signal Thread Echo Ritual "
    "Crown"
)
OCCUPATIONS = _words("teacher engineer nurse lawyer photographer carpenter journalist pilot")
PRODUCT_KINDS = _words(
    "Kettle Headphones Backpack Lamp Blender Watch Speaker Jacket Camera Keyboard Toaster Umbrella Drone "
    "Thermos Router"
)
PRODUCT_STYLES = _words("Aero Nova Pulse Terra Luma Vista Core Flux Zen Orbit Prime Echo")
SECTORS = _words("technology energy healthcare finance retail transport media materials")
SPECIALTIES = ("cardiology", "dermatology", "pediatrics", "neurology", "orthopedics", "general practice")
SPORTS = _words("football basketball hockey volleyball")
STORE_KINDS = _words("Market Emporium Outlet Depot Bazaar Supply")
