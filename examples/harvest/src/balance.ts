/** What each crop costs to plant, how many grow points it needs and what it pays when harvested. */
export const CROPS = {
  wheat: { cost: 2, ripeAt: 3, yield: 5 },
  corn: { cost: 4, ripeAt: 6, yield: 11 },
} as const;

export type CropName = keyof typeof CROPS;

/** The round's weather, drawn from the session stream when the round starts. */
export const WEATHER = ['dry', 'fair', 'rain'] as const;
export type Weather = (typeof WEATHER)[number];

/** Grow points the weather adds to every planted field at the end of a round. */
export const WEATHER_GROWTH: Readonly<Record<Weather, number>> = { dry: 0, fair: 1, rain: 2 };

/** The chance, in basis points, that a planted field is lost to blight at the end of a round. */
export const BLIGHT_BP = 800;
