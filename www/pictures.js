// A simple picture per aisle, drawn here (inline SVG, nothing downloaded): a shape chosen from
// the aisle's name (fruit, vegetable, carton, egg, cheese, bread, meat, fish, bottle, frost,
// box, can, sweet, paw, household, flower; else a basket), on a tint whose hue comes from the
// aisle's name, so that every aisle looks the same wherever it appears and aisles differ.

const SHAPES = {
  fruit: '<circle cx="32" cy="36" r="16" class="f"/><path d="M32 20c0-6 4-9 9-10-1 5-4 9-9 10z" class="d"/><path d="M32 21v-6" class="s"/>',
  vegetable: '<path d="M24 22l16 0-8 30z" class="f"/><path d="M32 22c-4-8-10-10-12-9 3 1 7 5 9 9M32 22c0-8 2-11 4-12M32 22c4-7 9-9 11-8-3 1-7 4-9 8" class="s"/>',
  carton: '<path d="M22 24l10-10 10 10v28H22z" class="f"/><path d="M22 24h20M32 14v10" class="s"/><rect x="26" y="32" width="12" height="10" rx="2" class="d"/>',
  egg: '<ellipse cx="32" cy="35" rx="12" ry="16" class="f"/><ellipse cx="28" cy="30" rx="3" ry="5" class="l"/>',
  cheese: '<path d="M14 44l34-22 4 22z" class="f"/><circle cx="36" cy="38" r="3" class="d"/><circle cx="44" cy="31" r="2" class="d"/>',
  bread: '<path d="M14 46V32c0-8 8-12 18-12s18 4 18 12v14z" class="f"/><path d="M24 26l-3 8M32 24l-2 9M40 26l-1 8" class="s"/>',
  meat: '<ellipse cx="28" cy="30" rx="14" ry="11" transform="rotate(-30 28 30)" class="f"/><path d="M36 38l10 10" class="b"/><circle cx="48" cy="50" r="3" class="l"/><circle cx="50" cy="46" r="3" class="l"/>',
  fish: '<path d="M12 32c8-10 22-12 32 0-10 12-24 10-32 0z" class="f"/><path d="M44 32l10-8v16z" class="f"/><circle cx="20" cy="30" r="2" class="d"/>',
  bottle: '<path d="M28 12h8v8c5 3 6 6 6 10v22H22V30c0-4 1-7 6-10z" class="f"/><rect x="24" y="34" width="16" height="10" class="l"/>',
  frost: '<path d="M32 12v40M15 22l34 20M15 42l34-20M28 15l4 4 4-4M28 49l4-4 4 4" class="b"/>',
  box: '<rect x="20" y="14" width="24" height="38" rx="2" class="f"/><circle cx="32" cy="32" r="7" class="l"/><path d="M22 20h20" class="s"/>',
  can: '<rect x="20" y="16" width="24" height="34" rx="4" class="f"/><ellipse cx="32" cy="17" rx="12" ry="3" class="d"/><rect x="20" y="26" width="24" height="12" class="l"/>',
  sweet: '<circle cx="32" cy="32" r="10" class="f"/><path d="M22 32l-10-7v14zM42 32l10-7v14z" class="d"/>',
  paw: '<ellipse cx="32" cy="40" rx="10" ry="8" class="f"/><circle cx="20" cy="28" r="4" class="f"/><circle cx="27" cy="21" r="4" class="f"/><circle cx="37" cy="21" r="4" class="f"/><circle cx="44" cy="28" r="4" class="f"/>',
  household: '<path d="M24 26h16v26H24z" class="f"/><path d="M28 26v-6h8v6M36 20h8" class="s"/><path d="M32 34c-3 4-3 8 0 9 3-1 3-5 0-9z" class="l"/>',
  flower: '<circle cx="32" cy="24" r="6" class="d"/><circle cx="24" cy="24" r="5" class="f"/><circle cx="40" cy="24" r="5" class="f"/><circle cx="32" cy="16" r="5" class="f"/><circle cx="32" cy="32" r="5" class="f"/><path d="M32 34v18" class="s"/>',
  basket: '<path d="M12 30h40l-6 20H18z" class="f"/><path d="M20 30l8-14M44 30l-8-14M22 38h20" class="s"/>',
};

// The first rule whose word is in the aisle's (or else the department's) name picks the shape.
const RULES = [
  ["frost", /FROZEN|FRZN|\bICE\b/],
  ["egg", /EGG/],
  ["cheese", /CHEESE/],
  ["carton", /MILK|DAIRY|YOGURT|CREAM|BUTTER|MARGARINE/],
  ["bread", /BREAD|BUNS|ROLLS|BAKED|BAKING|CAKE|PASTRY|DOUGHNUT|BAGEL|MUFFIN|TORTILLA/],
  ["fish", /SEAFOOD|FISH|SHRIMP|TUNA/],
  ["meat", /BEEF|PORK|CHICKEN|TURKEY|POULTRY|MEAT|SAUSAGE|BACON|HOT DOG|HAM|LUNCH|DINNER/],
  ["sweet", /CANDY|CHOCOLATE|SNACK|CHIPS|COOKIE|GUM|DESSERT|NUTS|POPCORN/],
  ["fruit", /FRUIT|APPLE|BERRIES|CITRUS|GRAPES|MELON|PEAR|BANANA|TROPICAL|STONE/],
  ["vegetable", /VEGETABLE|CARROT|POTATO|ONION|TOMATO|SALAD|LETTUCE|PEPPER|BROCCOLI|SQUASH|CORN|MUSHROOM|HERB|PRODUCE/],
  ["bottle", /DRINK|SOFT|JUICE|WATER|BEVERAGE|BEER|WINE|LIQUOR|COFFEE|TEA|SODA|\bOIL|VINEGAR|DRESSING|CONDIMENT|SAUCE/],
  ["box", /CEREAL|BREAKFAST|OATMEAL|PASTA|RICE|CRACKER|MIX|DINNERS|FLOUR|SUGAR/],
  ["can", /CAN|SOUP|BEANS|SHELF|VEG|PICKLE|SPICE|SEASONING/],
  ["paw", /PET|CAT |DOG |BIRD/],
  ["flower", /FLORAL|FLOWER|PLANT/],
  ["household", /DETERG|PAPER|CLEAN|SOAP|TISSUE|BATH|SHAMPOO|HAIR|ORAL|DEODOR|DIAPER|VITAMIN|MEDIC|COLD|CARE|BAG|WRAP|FOIL|LAUNDRY|DRUG|NUTRITION|BABY/],
];

function hue(text) {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

/** The shape's name for an aisle (its category) in a department. */
export function shapeFor(category = "", department = "") {
  for (const source of [category.toUpperCase(), department.toUpperCase()]) {
    for (const [shape, words] of RULES) if (words.test(source)) return shape;
  }
  return "basket";
}

/** The aisle's picture as an SVG element's markup (only fixed markup and numbers: safe as HTML). */
export function aislePicture(category = "", department = "") {
  const h = hue(category || department);
  const shape = shapeFor(category, department);
  const line = `fill="none" stroke="hsl(${h} 45% 30%)" stroke-linecap="round" stroke-width`;
  const paint = {
    f: `fill="hsl(${h} 55% 62%)"`,
    d: `fill="hsl(${h} 45% 35%)"`,
    l: `fill="hsl(${h} 70% 88%)"`,
    s: `${line}="3"`,
    b: `${line}="5"`,
  };
  const body = SHAPES[shape].replace(/class="(\w)"/g, (_, c) => paint[c]);
  return `<svg class="picture" viewBox="0 0 64 64" aria-hidden="true" data-shape="${shape}">`
    + `<rect width="64" height="64" rx="10" fill="hsl(${h} 60% 94%)"/>${body}</svg>`;
}
