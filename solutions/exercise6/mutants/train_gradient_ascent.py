"""train adds the gradient (p + lr * grad): it climbs the loss

function: train
mistake: train.gradient_ascent
"""
import numpy as np


def train(params, state, X, y, epochs, batch_size, lr, dropout_p, weight_decay, rng):
    n = X.shape[0]
    history = {"loss": [], "train_acc": []}
    for _ in range(epochs):
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = network_loss(params, state, X[batch], y[batch], True, dropout_p,
                                       weight_decay, rng)
            for key, grad in grads.items():
                params[key] += lr * grad
            losses.append(loss)
        scores = network_loss(params, state, X, None, False, dropout_p, weight_decay, rng)
        history["loss"].append(float(np.mean(losses)))
        history["train_acc"].append(float(np.mean(scores.argmax(axis=1) == y)))
    return history
