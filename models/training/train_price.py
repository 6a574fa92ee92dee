"""The demand model behind the price head: the probability that a household buys an item in a week
it shops, logistic in the log of the price relative to the list price, with a positive elasticity
per department, so that a higher price can never raise the probability:

    P(buy at price p) = sigmoid(base - elasticity_dept * ln(p / list_price))
    base = a_item + a_dept + w · [interest, display, mailer, season_sin, season_cos]
    elasticity_dept = softplus(e_dept) > 0

`price.onnx` takes `features` f32 [N, 5] (the columns above, in that order), `item` i64 [N] and
`department` i64 [N], and returns `base` and `elasticity` f32 [N]; the engine evaluates the curve at
every allowed price. The same model without the interest feature is fitted beside it.
"""
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from price_data import FEATURES


class DemandModel(nn.Module):
    def __init__(self, n_items: int, n_departments: int, use_interest: bool = True):
        super().__init__()
        self.item_bias = nn.Embedding(n_items, 1)
        self.department_bias = nn.Embedding(n_departments, 1)
        self.department_elasticity = nn.Embedding(n_departments, 1)
        self.linear = nn.Linear(len(FEATURES), 1)
        nn.init.zeros_(self.item_bias.weight)
        nn.init.zeros_(self.department_bias.weight)
        nn.init.constant_(self.department_elasticity.weight, 0.5)
        nn.init.zeros_(self.linear.weight)
        nn.init.constant_(self.linear.bias, -6.0)
        mask = torch.ones(len(FEATURES))
        mask[FEATURES.index("interest")] = 1.0 if use_interest else 0.0
        self.register_buffer("feature_mask", mask)

    def forward(self, features: torch.Tensor, item: torch.Tensor, department: torch.Tensor):
        base = (self.linear(features * self.feature_mask).squeeze(-1) + self.item_bias(item).squeeze(-1)
                + self.department_bias(department).squeeze(-1))
        elasticity = F.softplus(self.department_elasticity(department).squeeze(-1))
        return base, elasticity

    def logit(self, batch: dict) -> torch.Tensor:
        base, elasticity = self(batch["features"], batch["item"], batch["department"])
        return base - elasticity * batch["log_price_ratio"]

    def elasticities(self) -> np.ndarray:
        return F.softplus(self.department_elasticity.weight.squeeze(-1)).detach().numpy()


def tensors(ex: pd.DataFrame, features: list[str] = FEATURES) -> dict:
    return {"features": torch.from_numpy(ex[features].to_numpy(np.float32)),
            "item": torch.from_numpy(ex.row.to_numpy(np.int64)),
            "department": torch.from_numpy(ex.department.to_numpy(np.int64)),
            "log_price_ratio": torch.from_numpy(ex.log_price_ratio.to_numpy(np.float32)),
            "label": torch.from_numpy(ex.label.to_numpy(np.float32)),
            "weight": torch.from_numpy(ex.weight.to_numpy(np.float32))}


def weighted_log_loss(model: DemandModel, data: dict) -> float:
    with torch.no_grad():
        loss = F.binary_cross_entropy_with_logits(model.logit(data), data["label"], weight=data["weight"], reduction="sum")
    return float(loss / data["weight"].sum())


def fit(train: dict, valid: dict, n_items: int, n_departments: int, use_interest: bool, seed: int = 0,
        epochs: int = 30, batch: int = 65536, patience: int = 3, make_model=None, penalty: float = 0.0) -> nn.Module:
    """Adam on the weighted log-loss (plus `penalty` × the model's `penalty()` if given), early
    stopping on the validation weeks' log-loss. `make_model` builds another model than DemandModel."""
    torch.manual_seed(seed)
    model = make_model() if make_model else DemandModel(n_items, n_departments, use_interest)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    best, best_state, since = float("inf"), None, 0
    n = len(train["label"])
    for _ in range(epochs):
        for idx in torch.randperm(n).split(batch):
            part = {k: v[idx] for k, v in train.items()}
            loss = F.binary_cross_entropy_with_logits(model.logit(part), part["label"], weight=part["weight"],
                                                      reduction="sum") / part["weight"].sum()
            if penalty:
                loss = loss + penalty * model.penalty()
            opt.zero_grad()
            loss.backward()
            opt.step()
        current = weighted_log_loss(model, valid)
        if current < best - 1e-6:
            best, best_state, since = current, {k: v.clone() for k, v in model.state_dict().items()}, 0
        else:
            since += 1
            if since >= patience:
                break
    model.load_state_dict(best_state)
    return model.eval()


def export_onnx(model: DemandModel, path: str) -> None:
    """`price.onnx`: features [N, 5], item [N], department [N] -> base [N], elasticity [N]."""
    example = (torch.zeros(2, len(FEATURES)), torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long))
    torch.onnx.export(model, example, path, input_names=["features", "item", "department"],
                      output_names=["base", "elasticity"],
                      dynamic_axes={name: {0: "n"} for name in ("features", "item", "department", "base", "elasticity")},
                      opset_version=17, dynamo=False)
