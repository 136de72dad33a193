// SPDX-License-Identifier: GPL-2.0

#include <linux/etherdevice.h>
#include <linux/netdevice.h>

#ifdef CONFIG_NET

__rust_helper void *rust_helper_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

__rust_helper void rust_helper_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

__rust_helper void rust_helper_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

__rust_helper void rust_helper_netif_start_queue(struct net_device *dev)
{
	netif_start_queue(dev);
}

__rust_helper void rust_helper_netif_stop_queue(struct net_device *dev)
{
	netif_stop_queue(dev);
}

__rust_helper void rust_helper_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

__rust_helper void rust_helper___netif_tx_lock(struct netdev_queue *txq, int cpu)
{
	__netif_tx_lock(txq, cpu);
}

__rust_helper void rust_helper___netif_tx_unlock(struct netdev_queue *txq)
{
	__netif_tx_unlock(txq);
}

__rust_helper bool rust_helper___netif_tx_trylock(struct netdev_queue *txq)
{
	return __netif_tx_trylock(txq);
}

__rust_helper bool rust_helper_netif_tx_owned(struct netdev_queue *txq, unsigned int cpu)
{
	return netif_tx_owned(txq, cpu);
}

__rust_helper void rust_helper_netif_wake_queue(struct net_device *dev)
{
	netif_wake_queue(dev);
}

__rust_helper struct netdev_queue *rust_helper_netdev_get_tx_queue(const struct net_device *dev,
								   unsigned int index)
{
	return netdev_get_tx_queue(dev, index);
}

__rust_helper bool rust_helper_netdev_xmit_more(void)
{
	return netdev_xmit_more();
}

__rust_helper bool rust_helper___netdev_tx_sent_queue(struct netdev_queue *dev_queue,
						      unsigned int bytes, bool xmit_more)
{
	return __netdev_tx_sent_queue(dev_queue, bytes, xmit_more);
}

__rust_helper void rust_helper_netdev_tx_completed_queue(struct netdev_queue *dev_queue,
							 unsigned int pkts, unsigned int bytes)
{
	netdev_tx_completed_queue(dev_queue, pkts, bytes);
}

__rust_helper void rust_helper_netdev_tx_reset_queue(struct netdev_queue *q)
{
	netdev_tx_reset_queue(q);
}

__rust_helper bool rust_helper_netif_queue_stopped(const struct net_device *dev)
{
	return netif_queue_stopped(dev);
}

__rust_helper bool rust_helper_netif_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

__rust_helper bool rust_helper_netif_running(const struct net_device *dev)
{
	return netif_running(dev);
}

__rust_helper void rust_helper_eth_hw_addr_set(struct net_device *dev, const u8 *addr)
{
	eth_hw_addr_set(dev, addr);
}

__rust_helper bool rust_helper_is_valid_ether_addr(const u8 *addr)
{
	return is_valid_ether_addr(addr);
}

__rust_helper struct sk_buff *
rust_helper_netdev_alloc_skb_ip_align(struct net_device *dev, unsigned int length)
{
	return netdev_alloc_skb_ip_align(dev, length);
}

#endif /* CONFIG_NET */
